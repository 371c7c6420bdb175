import { describe, expect, it } from 'vitest';
import { permanentFailure, WebhookError, type SendResult } from '../src/index.js';

const answer = (status: number): SendResult => ({ ok: status >= 200 && status < 300, status, durationMs: 1, retryAfterMs: null, responseBody: '', error: null });
const failure = (error: WebhookError): SendResult => ({ ok: false, status: null, durationMs: 1, retryAfterMs: null, responseBody: '', error });

describe('permanentFailure', () => {
  it.each([
    [200, null], [204, null],
    [400, 'http_rejected'], [401, 'http_rejected'], [403, 'http_rejected'], [404, 'http_rejected'], [410, 'http_rejected'], [422, 'http_rejected'],
    [408, null], [425, null], [429, null],
    [500, null], [502, null], [503, null], [301, null],
  ] as const)('HTTP %i → %s', (status, expected) => {
    expect(permanentFailure(answer(status))).toBe(expected);
  });

  it.each([
    [new WebhookError('URL_ADDRESS_FORBIDDEN', 'forbidden'), 'url_policy'],
    [new WebhookError('URL_SCHEME_NOT_ALLOWED', 'http'), 'url_policy'],
    [new WebhookError('URL_INVALID', 'bad'), 'url_policy'],
    [new WebhookError('DNS_FAILED', 'no dns', { retryable: true }), null],
    [new WebhookError('DELIVERY_TIMEOUT', 'slow', { retryable: true }), null],
    [new WebhookError('DELIVERY_NETWORK', 'reset', { retryable: true }), null],
  ] as const)('%s → %s', (error, expected) => {
    expect(permanentFailure(failure(error))).toBe(expected);
  });
});
