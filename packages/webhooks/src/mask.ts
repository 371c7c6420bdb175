import { createHash } from 'node:crypto';

/**
 * A webhook URL as people other than admins see it, and as the audit trail and exports keep it:
 * scheme, host and port only, then a fingerprint of the whole URL. Many receivers carry their token
 * in the path or the query (`/services/T000/B000/XXXX`, `?token=…`), so nothing after the host is
 * shown; the fingerprint (first 12 hex digits of its SHA-256) tells two endpoints apart and lets an
 * admin who holds the URL check which one an audit entry names. Userinfo is never shown.
 */
export function maskEndpointUrl(url: string): string {
  const fingerprint = createHash('sha256').update(url, 'utf8').digest('hex').slice(0, 12);
  let origin: string;
  try {
    const parsed = new URL(url);
    origin = `${parsed.protocol}//${parsed.host}`;
  } catch {
    origin = 'invalid-url';
  }
  return `${origin}/… (sha256:${fingerprint})`;
}
