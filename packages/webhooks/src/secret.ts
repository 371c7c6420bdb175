// Standard Webhooks signing: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
// the key being the base64-decoded part of a `whsec_` secret. Several signatures are space-separated,
// which is how a rotated secret signs with old and new during its grace period.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WebhookError } from './errors.js';

const PREFIX = 'whsec_';

/** A new `whsec_` secret: 32 random bytes, base64. */
export function generateSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a `whsec_` secret; throws SECRET_INVALID for anything else. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new WebhookError('SECRET_INVALID', 'webhook secret must start with whsec_');
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64');
  if (key.length < 16) throw new WebhookError('SECRET_INVALID', 'webhook secret must hold at least 16 bytes');
  return key;
}

/** One `v1,<base64>` signature. */
export function signOnce(secret: string, id: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The `webhook-signature` header value: one signature per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  if (secrets.length === 0) throw new WebhookError('SECRET_INVALID', 'no signing secret');
  return secrets.map((s) => signOnce(s, id, timestamp, body)).join(' ');
}

/** The three Standard Webhooks headers for one attempt (timestamp in Unix seconds). */
export function signedHeaders(secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, id, timestamp, body),
  };
}

/** Receiving side: true when one of the header's v1 signatures matches `secret` (constant-time compare). */
export function verifySignature(secret: string, id: string, timestamp: number, body: string, header: string): boolean {
  const expected = Buffer.from(signOnce(secret, id, timestamp, body));
  return header.split(' ').some((sig) => {
    const got = Buffer.from(sig);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
