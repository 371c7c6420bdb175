// The audit chain's HMAC keys. They live outside Redis (the API's configuration or a key file), so
// someone who can write Redis can edit entries and recompute their hashes but not their MACs. Each
// sealed entry names the key id it was sealed with; rotating is adding a key and making it the
// active one: entries sealed with the older keys still verify while those keys are listed.
import { createHmac } from 'node:crypto';

/** The keys the sealer signs with (the active one) and verify checks against (every one). */
export interface AuditKeyring {
  /** The id new entries are sealed with. */
  activeId: string;
  /** Key id → secret. */
  keys: ReadonlyMap<string, Buffer>;
}

/** Thrown for an unusable key list; the message never contains a secret. */
export class AuditKeyError extends Error {
  readonly code = 'AUDIT_KEYS_INVALID';
  readonly retryable = false;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
/** A secret of fewer bytes than this is refused: HMAC-SHA256 wants 32. */
export const MIN_AUDIT_KEY_BYTES = 32;

/**
 * Parses `id:secret` entries separated by commas or new lines (`#` starts a comment). A secret is
 * `hex:<hex>`, `base64:<base64>` or plain text, at least 32 bytes. `activeId` picks the signing key;
 * default: the last listed. Returns null when no key is listed (sealing unkeyed).
 */
export function parseAuditKeys(text: string, activeId?: string): AuditKeyring | null {
  const keys = new Map<string, Buffer>();
  const entries = text.split(/[,\n]/).map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l !== '');
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    // `hex:…` or `base64:…` alone is a secret whose id was forgotten, not a key named hex.
    if (!ID.test(id) || id === 'hex' || id === 'base64') throw new AuditKeyError(`audit key #${i + 1}: expected <id>:<secret>, with an id of letters, digits, '.', '_' or '-'`);
    if (keys.has(id)) throw new AuditKeyError(`audit key id ${id} is listed twice`);
    const raw = entry.slice(colon + 1);
    const secret = raw.startsWith('hex:') ? Buffer.from(raw.slice(4), 'hex') : raw.startsWith('base64:') ? Buffer.from(raw.slice(7), 'base64') : Buffer.from(raw, 'utf8');
    if (secret.length < MIN_AUDIT_KEY_BYTES) throw new AuditKeyError(`audit key ${id} has ${secret.length} bytes; at least ${MIN_AUDIT_KEY_BYTES} are needed`);
    keys.set(id, secret);
  }
  if (keys.size === 0) {
    if (activeId) throw new AuditKeyError(`the active audit key ${activeId} is not among the keys listed (none are)`);
    return null;
  }
  const active = activeId ?? [...keys.keys()].at(-1)!;
  if (!keys.has(active)) throw new AuditKeyError(`the active audit key ${active} is not among the keys listed (${[...keys.keys()].join(', ')})`);
  return { activeId: active, keys };
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('hex');

/** The MAC of a sealed entry: HMAC-SHA256 over its key id and hash (the hash covers prev, seq and the fields). */
export const entryMac = (key: Buffer, kid: string, hash: string): string => hmac(key, `entry ${kid} ${hash}`);

/** The MAC of the trimming floor: the seq and hash of the last entry retention removed. */
export const floorMac = (key: Buffer, kid: string, seq: number, hash: string): string => hmac(key, `floor ${kid} ${seq} ${hash}`);
