import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { generateSecret, signatureHeader, signedHeaders, verifySignature } from '../src/index.js';

describe('Standard Webhooks signing', () => {
  it('produces signatures the reference implementation verifies', () => {
    const secret = generateSecret();
    const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { webhookId: 'we_1', message: 'hi' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([secret], 'msg_1', ts, body);
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: 'webhook.test' });
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
  });

  it('signs with old and new secret during a rotation, and either verifies', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const headers = signedHeaders([newSecret, oldSecret], 'msg_2', ts, '{}');
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify('{}', headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify('{}', headers)).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify('{}', headers)).toThrow();
  });

  it('verifies on the receiving side and rejects a tampered body', () => {
    const secret = generateSecret();
    const header = signatureHeader([secret], 'msg_3', 1_700_000_000, '{"a":1}');
    expect(verifySignature(secret, 'msg_3', 1_700_000_000, '{"a":1}', header)).toBe(true);
    expect(verifySignature(secret, 'msg_3', 1_700_000_000, '{"a":2}', header)).toBe(false);
  });

  it('refuses a secret without the whsec_ prefix', () => {
    expect(() => signatureHeader(['abc'], 'm', 1, '')).toThrow(/whsec_/);
  });
});
