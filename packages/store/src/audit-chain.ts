// The audit log is a hash chain: each entry carries the hash of the one before it, and its own hash
// is SHA-256 over that and the entry's canonical form. Editing, removing or reordering an entry
// breaks the chain at that entry, and verify() names it. Writers do not compute it: they append
// their entry unsealed, in the same step as their change; one sealer (audit-sealer.ts) gives the
// entries their seq, prev and hash in the order they were written. Redis' Lua has no SHA-256, so
// the hashes are computed here and sent to the sealing script.
import { createHash } from 'node:crypto';

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
