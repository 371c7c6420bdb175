import { describe, expect, it } from 'vitest';
import { validateUsage } from '../src/index.js';
import { pack, usageEvent } from './fixtures.js';

const NOW = new Date('2026-11-20T11:00:00Z');

describe('validateUsage', () => {
  it('accepts a known accelerator in a known country over one hour that just ended', () => {
    const result = validateUsage(usageEvent(), pack, NOW);
    expect(result.ok && result.accelerator.id).toBe('nvidia-h100-sxm5-80gb');
  });

  it('accepts an interval ending within the tolerated clock skew', () => {
    expect(validateUsage(usageEvent({ interval: { start: '2026-11-20T10:05:00Z', end: '2026-11-20T11:05:00Z' } }), pack, NOW).ok).toBe(true);
  });

  it.each([
    ['an accelerator outside the catalog', { accelerator: { model: 'G2', count: 1 } }, 'unknown_accelerator'],
    ['an unassigned country code', { cluster: { id: 'c', country: 'XX' } }, 'unknown_country'],
    ['an end before its start', { interval: { start: '2026-11-20T10:00:00Z', end: '2026-11-20T09:00:00Z' } }, 'invalid_interval'],
    ['an empty interval', { interval: { start: '2026-11-20T10:00:00Z', end: '2026-11-20T10:00:00Z' } }, 'invalid_interval'],
    ['an interval longer than the policy allows', { interval: { start: '2026-11-20T08:00:00Z', end: '2026-11-20T10:00:01Z' } }, 'interval_too_long'],
    ['an end beyond the clock skew', { interval: { start: '2026-11-20T10:10:00Z', end: '2026-11-20T11:05:01Z' } }, 'interval_in_future'],
  ])('refuses %s with reason %s', (_name, data, reason) => {
    const result = validateUsage(usageEvent(data), pack, NOW);
    expect(result.ok ? 'accepted' : result.reason).toBe(reason);
    expect(result.ok ? '' : result.message.length).toBeGreaterThan(10);
  });
});
