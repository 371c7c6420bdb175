// The audit log is a hash chain: each entry carries the hash of the one before it, and its own hash
// is SHA-256 over that and the entry's canonical form. Editing, removing or reordering an entry
// breaks the chain at that entry, and verify() names it. Writers do not compute it: they append
// their entry unsealed, in the same step as their change; one sealer (audit-sealer.ts) gives the
// entries their seq, prev and hash in the order they were written. Redis' Lua has no SHA-256, so
// the hashes are computed here and sent to the sealing script. The sealer also gives each entry an
// HMAC with a key kept outside Redis (audit-keys.ts): a chain recomputed without the key fails it.
import { createHash } from 'node:crypto';
import { entryMac, floorMac, type AuditKeyring } from './audit-keys.js';

/** prev of the first entry. */
export const GENESIS = '0'.repeat(64);

/** The fields of an entry that its hash covers (everything but the stream id and the hashes). */
export interface ChainFields {
  seq: number;
  at: string;
  actor: string;
  action: string;
  object: string;
  /** JSON text of { before, after, note, requestId }, hashed as stored. */
  data: string;
}

/** The canonical form hashed: JSON of a fixed-order array, unambiguous whatever the fields hold. */
export const canonical = (f: ChainFields): string => JSON.stringify([f.seq, f.at, f.actor, f.action, f.object, f.data]);

/** hash = sha256(prev + canonical entry), hex. */
export const chainHash = (prev: string, f: ChainFields): string => createHash('sha256').update(prev).update(canonical(f)).digest('hex');

/** The head as stored ("<seq> <hash>"), parsed; an empty log is seq 0 with the genesis hash. */
export function parseHead(raw: string | null): { raw: string; seq: number; hash: string } {
  if (!raw) return { raw: '', seq: 0, hash: GENESIS };
  const [seq, hash] = raw.split(' ');
  return { raw, seq: Number(seq), hash: hash ?? '' };
}

/** A sealed entry's fields as stored: what the hash covers, the links and the MAC ('' when unkeyed). */
export interface SealedFields extends ChainFields {
  id: string;
  prev: string;
  hash: string;
  kid: string;
  mac: string;
}

/** Why a link of the chain does not hold. */
export type BrokenReason =
  | 'hash_mismatch' | 'prev_mismatch' | 'seq_gap' | 'head_mismatch'
  | 'mac_mismatch' | 'mac_missing' | 'unknown_key' | 'oldest_deleted' | 'floor_mac_mismatch';

/** What retention trimmed up to: the seq and hash of the last entry removed, with its MAC. */
export interface Floor {
  seq: number;
  hash: string;
  kid: string;
  mac: string;
}

/** The floor as stored ("<seq> <hash> <kid> <mac>", '-' for an unkeyed kid and mac); null when nothing was trimmed. */
export function parseFloor(raw: string | null): Floor | null {
  if (!raw) return null;
  const [seq, hash, kid, mac] = raw.split(' ');
  return { seq: Number(seq), hash: hash ?? '', kid: kid === '-' ? '' : kid ?? '', mac: mac === '-' ? '' : mac ?? '' };
}

export const formatFloor = (f: Floor): string => `${f.seq} ${f.hash} ${f.kid || '-'} ${f.mac || '-'}`;

export interface ChainCheckerOptions {
  keyring: AuditKeyring | null;
  /**
   * Where the range starts: `{ after }` the entry just before it; `{ floor }` the beginning of the
   * log (retention's floor, or null when nothing was trimmed: the first entry is seq 1 on GENESIS);
   * `{}` anywhere (a copy whose oldest part expired): the first entry is taken as it is.
   */
  start: { after: { seq: number; hash: string } } | { floor: Floor | null } | Record<string, never>;
}

/**
 * Checks sealed entries one after another, oldest first: seq without gaps, each prev the hash before
 * it, each hash, each MAC against the keyring (an entry without a MAC is accepted only before the
 * first with one: entries sealed before keys were configured), and the first entry against the
 * start. Returns the first problem found for an entry, or null.
 */
export function createChainChecker({ keyring, start }: ChainCheckerOptions) {
  let last = 'after' in start ? start.after : null;
  let keyed = false;
  let unkeyed = 0;
  const problem = (reason: BrokenReason, message: string) => ({ reason, message });

  /** The floor's own MAC, checked once before the walk. */
  function checkFloor(): { reason: BrokenReason; message: string } | null {
    if (!('floor' in start) || !start.floor || !keyring) return null;
    const f = start.floor;
    const key = keyring.keys.get(f.kid);
    if (!key) return problem(f.kid ? 'unknown_key' : 'floor_mac_mismatch', `the trimming floor (seq ${f.seq}) ${f.kid ? `names key ${f.kid}, which is not configured` : 'carries no MAC'}: it cannot be trusted`);
    if (floorMac(key, f.kid, f.seq, f.hash) !== f.mac) return problem('floor_mac_mismatch', `the trimming floor (seq ${f.seq}) does not match its MAC: it was written without the key`);
    return null;
  }

  function check(e: SealedFields): { reason: BrokenReason; message: string } | null {
    if (last) {
      if (e.seq !== last.seq + 1) return problem('seq_gap', `entry ${e.id} has seq ${e.seq}, expected ${last.seq + 1}: an entry is missing or was moved`);
      if (e.prev !== last.hash) return problem('prev_mismatch', `entry ${e.id} (seq ${e.seq}) does not carry the hash of the entry before it`);
    } else if ('floor' in start) {
      const seq = (start.floor?.seq ?? 0) + 1;
      const prev = start.floor?.hash ?? GENESIS;
      if (e.seq !== seq || e.prev !== prev) {
        return problem('oldest_deleted', start.floor
          ? `the oldest entry ${e.id} has seq ${e.seq} but retention trimmed up to seq ${start.floor.seq}: entries ${start.floor.seq + 1}–${e.seq - 1} were deleted`
          : `the oldest entry ${e.id} has seq ${e.seq} and nothing was trimmed by retention: the oldest entries were deleted`);
      }
    }
    if (chainHash(e.prev, e) !== e.hash) return problem('hash_mismatch', `entry ${e.id} (seq ${e.seq}) does not match its hash: it was changed after it was written`);
    if (keyring) {
      if (e.mac === '') {
        if (keyed) return problem('mac_missing', `entry ${e.id} (seq ${e.seq}) carries no MAC though entries before it do: it was rewritten without the key`);
        unkeyed++;
      } else {
        const key = keyring.keys.get(e.kid);
        if (!key) return problem('unknown_key', `entry ${e.id} (seq ${e.seq}) was sealed with key ${e.kid}, which is not configured (add it to AUDIT_HMAC_KEYS to verify it)`);
        if (entryMac(key, e.kid, e.hash) !== e.mac) return problem('mac_mismatch', `entry ${e.id} (seq ${e.seq}) does not match its MAC: the chain was recomputed without the key`);
        keyed = true;
      }
    }
    last = { seq: e.seq, hash: e.hash };
    return null;
  }

  return {
    checkFloor,
    check,
    /** The last entry that passed. */
    last: () => last,
    /** Entries without a MAC accepted (sealed before keys were configured). */
    unkeyed: () => unkeyed,
  };
}
