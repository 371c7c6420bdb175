import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { chainHash, parseHead } from './audit-chain.js';

/** One change to a record, as the audit log keeps it once sealed into the chain. */
export interface AuditEntry {
  /** Stream id (`<ms>-<seq>`): unique, ordered by time; the cursor of listings. */
  id: string;
  /** Position in the chain, from 1, without gaps. */
  seq: number;
  at: string;
  /** Who made the change: the API key's name, or a service. */
  actor: string;
  /** What was done, e.g. `tenant.put`, `case.acknowledge`. */
  action: string;
  /** What it was done to: `<kind>:<id>`, e.g. `tenant:acme`, `case:cs_…`. */
  object: string;
  before: unknown;
  after: unknown;
  note?: string;
  requestId?: string;
  /** Hash of the previous entry, and this entry's own (see audit-chain.ts). */
  prev: string;
  hash: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at' | 'seq' | 'prev' | 'hash'> & { at?: Date };

export interface AuditQuery {
  actor?: string;
  object?: string;
  since?: Date;
  until?: Date;
  /** Id of the last entry of the previous page (entries come newest first). */
  cursor?: string;
  limit: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next page; null when there is none. */
  nextCursor: string | null;
  /** Entries written but not yet sealed into the chain (not listed until they are). */
  unsealed: number;
}

/** Where the chain breaks: the first entry whose link does not hold, and why. */
export interface BrokenLink {
  id: string;
  seq: number;
  reason: 'hash_mismatch' | 'prev_mismatch' | 'seq_gap' | 'head_mismatch';
  message: string;
}

/**
 * A change made outside the {alerts} slot (KYC, lineages, webhooks), recorded before it was made and
 * not yet confirmed: it may or may not have been written. `verify` names it until it is confirmed.
 */
export interface AuditIntent {
  id: string;
  /** When it was recorded (RFC 3339). */
  at: string;
  actor: string;
  action: string;
  object: string;
  after: unknown;
  note?: string;
  requestId?: string;
  /** Why the change could not be confirmed, when its writer saw an error. */
  error?: string;
}

export interface VerifyResult {
  /** The sealed chain holds and no change waits for its entry to be confirmed. */
  ok: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  broken: BrokenLink | null;
  /** Entries written with their change but not yet sealed into the chain (sealed by the next round). */
  unsealed: number;
  /** Changes outside the {alerts} slot whose entry is not confirmed (oldest first, at most 100). */
  unconfirmed: AuditIntent[];
}

/** The unsealed fields of an entry, as its change's script appends them (lua/includes/audit-entry.lua). */
export interface AuditWrite {
  at: string;
  actor: string;
  action: string;
  object: string;
  data: string;
}

export interface AuditLogOptions {
  redis: RedisClient;
  keys: Keys;
  /** Entries older than this many days are trimmed as new ones are sealed; 0 keeps everything. */
  retentionDays?: number;
  now?: () => Date;
  /** How long a sealer's lease lasts without renewal. Default 15 s. */
  sealerLeaseMs?: number;
}

// A filtered page reads at most this many entries; a sparse filter continues through nextCursor.
const MAX_SCAN = 10_000;
const CHUNK = 500;
/** Entries one sealing script takes. */
const SEAL_BATCH = 500;
/** A reader seals at most this many waiting entries before it answers (the loop seals the rest). */
const READER_SEAL_MAX = 20_000;
// A record that kept changing under a writer (compare-and-set on its version) is re-read this often.
export const MAX_CHAIN_ATTEMPTS = 50;

/** Thrown when a record kept changing under a writer; nothing was written; retrying later succeeds. */
export class AuditContentionError extends Error {
  readonly code = 'AUDIT_CONTENTION';
  readonly retryable = true;
  constructor(object: string) {
    super(`${object} kept changing while it was written; nothing was written, retry`);
  }
}

/**
 * Thrown when a change outside the {alerts} slot failed in a way that leaves unknown whether it was
 * written (a Redis error, a timeout). Its intent stays recorded: `verify` names it until it is confirmed.
 */
export class ChangeUnconfirmedError extends Error {
  readonly code = 'CHANGE_UNCONFIRMED';
  readonly retryable = true;
  constructor(readonly intentId: string, object: string, cause: unknown) {
    super(`the change to ${object} may have been written: it failed with "${cause instanceof Error ? cause.message : String(cause)}"; it is recorded as audit intent ${intentId}, which GET /v1/audit/verify names until it is confirmed`, { cause });
  }
}

const fieldMap = (fields: string[]) => {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  return f;
};

const decode = (id: string, fields: string[]): AuditEntry => {
  const f = fieldMap(fields);
  const data = JSON.parse(f.get('data') ?? '{}') as { before?: unknown; after?: unknown; note?: string; requestId?: string };
  return {
    id,
    seq: Number(f.get('seq') ?? 0),
    at: f.get('at') ?? new Date(Number(id.split('-')[0])).toISOString(),
    actor: f.get('actor') ?? '',
    action: f.get('action') ?? '',
    object: f.get('object') ?? '',
    before: data.before ?? null,
    after: data.after ?? null,
    ...(data.note === undefined ? {} : { note: data.note }),
    ...(data.requestId === undefined ? {} : { requestId: data.requestId }),
    prev: f.get('prev') ?? '',
    hash: f.get('hash') ?? '',
  };
};

/** Raw stream fields of an entry, for checking its hash over the text as stored. */
const rawFields = (fields: string[]) => {
  const f = fieldMap(fields);
  return { seq: Number(f.get('seq')), at: f.get('at') ?? '', actor: f.get('actor') ?? '', action: f.get('action') ?? '', object: f.get('object') ?? '', data: f.get('data') ?? '', prev: f.get('prev') ?? '', hash: f.get('hash') ?? '' };
};

/** What an intent check says of a change recorded as an intent (see settle()). */
export type IntentOutcome = 'applied' | 'not_applied' | 'unknown';

/**
 * The append-only, hash-chained audit log: who changed what, when, from what to what.
 *
 * Writing and sealing are separate (as transparency logs separate sequencing from signing): a change
 * and its entry are appended in one atomic step — the entry unsealed, in the same slot as the change
 * ({alerts}: cases, alerts), or as an intent confirmed after a change in another slot — and one
 * sealer at a time (a lease) gives the entries their seq, prev and hash in the order they were
 * written. Writers never read or compare-and-set the chain head, so they never contend on it.
 * Readers see sealed entries; each read first seals what waits (if it can take the lease) and says
 * how many still wait.
 */
export function createAuditLog({ redis, keys, retentionDays = 0, now = () => new Date(), sealerLeaseMs = 15_000 }: AuditLogOptions) {
  const scripts = defineScripts(redis);
  /** This instance's lease token: the sealer it runs is one of many candidates. */
  const owner = randomUUID();

  /** MINID below which entries are trimmed, or '0' (keep everything). */
  const minId = () => (retentionDays > 0 ? String(now().getTime() - retentionDays * 86_400_000) : '0');

  /** The sealed chain's head. */
  async function head() {
    return parseHead(await redis.get(keys.audit.head));
  }

  /** The audit entry's arguments of an audited script for a new entry (lua/includes/audit-entry.lua). */
  function write(entry: NewAuditEntry): AuditWrite {
    const data = JSON.stringify({ before: entry.before ?? null, after: entry.after ?? null, note: entry.note, requestId: entry.requestId });
    const at = (entry.at ?? now()).toISOString();
    return { at, actor: entry.actor, action: entry.action, object: entry.object, data };
  }

  /** Entries oldest first between two stream ids (inclusive), in chunks. */
  async function* range(start: string, end: string): AsyncGenerator<[string, string[]]> {
    let from = start;
    for (;;) {
      const chunk = await redis.xrange(keys.audit.log, from, end, 'COUNT', CHUNK);
      for (const item of chunk) yield item;
      if (chunk.length < CHUNK) return;
      from = `(${chunk.at(-1)![0]}`;
    }
  }

  /** Takes or renews the sealer's lease; true when this instance holds it. */
  async function lease(): Promise<boolean> {
    if ((await redis.set(keys.audit.sealer, owner, 'PX', sealerLeaseMs, 'NX')) === 'OK') return true;
    if ((await redis.get(keys.audit.sealer)) !== owner) return false;
    // Renewed; had it expired in between and been taken, the sealing script refuses (it checks the token).
    await redis.pexpire(keys.audit.sealer, sealerLeaseMs);
    return true;
  }

  /** Seals the oldest waiting entries (one script); the number sealed, or null when the lease is not ours. */
  async function sealBatch(): Promise<number | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const h = await head();
      const waiting = await redis.xrange(keys.audit.unsealed, '-', '+', 'COUNT', SEAL_BATCH);
      if (waiting.length === 0) return 0;
      const entries: (string | number)[] = [];
      let prev = h.hash;
      let seq = h.seq;
      for (const [id, fields] of waiting) {
        const f = fieldMap(fields);
        seq++;
        const hash = chainHash(prev, { seq, at: f.get('at') ?? '', actor: f.get('actor') ?? '', action: f.get('action') ?? '', object: f.get('object') ?? '', data: f.get('data') ?? '' });
        entries.push(id, seq, prev, hash);
        prev = hash;
      }
      const reply = await scripts.sealAudit({
        keys: { log: keys.audit.log, head: keys.audit.head, unsealed: keys.audit.unsealed, lease: keys.audit.sealer },
        args: { token: owner, head: h.raw, minId: minId(), entries },
      });
      if (reply === 'not_leaseholder') return null;
      // stale / entry_gone: another holder of this token sealed in between (a reader and the loop of
      // one process): read again.
      if (typeof reply === 'number') return reply;
    }
    return 0; // the head kept moving under this sealer: the next round goes on from it
  }

  // One sealing run at a time per instance; the lease keeps instances apart.
  let sealing: Promise<unknown> = Promise.resolve();

  /**
   * Seals waiting entries, oldest first, up to `max`, if this instance holds (or can take) the lease.
   * Returns how many it sealed and whether the lease was its own; resumable and idempotent: a crash
   * leaves whole runs sealed or unsealed, never half.
   */
  function seal(max = Number.POSITIVE_INFINITY): Promise<{ sealed: number; leader: boolean }> {
    const run = sealing.then(async () => {
      let sealed = 0;
      while (sealed < max) {
        if (!(await lease())) return { sealed, leader: false };
        const n = await sealBatch();
        if (n === null) return { sealed, leader: false };
        sealed += n;
        if (n < SEAL_BATCH) break;
      }
      return { sealed, leader: true };
    });
    sealing = run.catch(() => {});
    return run;
  }

  /** Readers seal what waits first (best effort: another instance may hold the lease). */
  async function sealForReaders(): Promise<number> {
    await seal(READER_SEAL_MAX);
    return redis.xlen(keys.audit.unsealed);
  }

  async function intents(): Promise<AuditIntent[]> {
    const all = await redis.hgetall(keys.audit.intents);
    return Object.entries(all)
      .map(([id, json]) => ({ id, ...(JSON.parse(json) as Omit<AuditIntent, 'id'>) }))
      .sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
  }

  async function confirm(id: string, entry: NewAuditEntry): Promise<boolean> {
    return scripts.confirmIntent({ keys: { intents: keys.audit.intents, unsealed: keys.audit.unsealed }, args: { ...write(entry), intentId: id } });
  }

  // Complete stream ids: `<ms>-0` is the first possible entry of a millisecond (an incomplete id as
  // an exclusive bound would mean the whole millisecond).
  const lower = (d: Date | undefined) => (d ? `${d.getTime()}-0` : '-');
  // As an end, an incomplete id covers its whole millisecond.
  const upper = (d: Date | undefined) => (d ? String(d.getTime()) : '+');

  return {
    head,
    write,
    seal,
    intents,

    /** Gives up the sealer's lease if this instance holds it (on shutdown), so another takes over at once. */
    async releaseLease(): Promise<void> {
      if ((await redis.get(keys.audit.sealer)) === owner) await redis.del(keys.audit.sealer);
    },

    /** How many entries wait to be sealed. */
    unsealedCount: () => redis.xlen(keys.audit.unsealed),

    /**
     * Appends one entry that stands alone (no record of its own changes with it), unsealed. A
     * change to a record outside the {alerts} slot goes through record() instead.
     */
    async append(entry: NewAuditEntry): Promise<string> {
      const { at, actor, action, object, data } = write(entry);
      return (await redis.xadd(keys.audit.unsealed, '*', 'at', at, 'actor', actor, 'action', action, 'object', object, 'data', data)) ?? '';
    },

    /**
     * A change outside the {alerts} slot (KYC, lineages, webhooks) with its entry, or neither silently:
     * 1. the intent (the entry as intended) is recorded — if that fails, nothing was written;
     * 2. `apply` makes the change — if it fails with an error that says nothing was written
     *    (`retryable: false`, a check that refused), the intent is dropped and the error rethrown;
     *    any other failure (a Redis error: it may have been written) leaves the intent, marked with
     *    the error, and throws ChangeUnconfirmedError;
     * 3. the intent is confirmed: removed and its entry appended, in one script. If that fails the
     *    change stands and so does its intent, which `verify` names until settle() confirms it.
     * `entryOf` completes the entry from what `apply` returned (e.g. the record before the change), or
     * returns null when `apply` says it changed nothing (the intent is then dropped).
     */
    async record<T>(entry: NewAuditEntry, apply: () => Promise<T>, entryOf: (result: T) => Partial<NewAuditEntry> | null = () => ({})): Promise<T> {
      const id = `${now().getTime()}-${randomBytes(6).toString('hex')}`;
      const intent: Omit<AuditIntent, 'id'> = {
        at: (entry.at ?? now()).toISOString(), actor: entry.actor, action: entry.action, object: entry.object, after: entry.after ?? null,
        ...(entry.note === undefined ? {} : { note: entry.note }), ...(entry.requestId === undefined ? {} : { requestId: entry.requestId }),
      };
      await redis.hset(keys.audit.intents, id, JSON.stringify(intent));
      let result: T;
      try {
        result = await apply();
      } catch (err) {
        if ((err as { retryable?: unknown }).retryable === false) {
          await redis.hdel(keys.audit.intents, id).catch(() => {}); // left, it is settled later
          throw err;
        }
        const message = err instanceof Error ? err.message : String(err);
        await redis.hset(keys.audit.intents, id, JSON.stringify({ ...intent, error: message.slice(0, 500) })).catch(() => {});
        throw new ChangeUnconfirmedError(id, entry.object, err);
      }
      const completed = entryOf(result);
      const final = completed === null ? null : { ...entry, ...completed };
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          if (final === null) await redis.hdel(keys.audit.intents, id);
          else await confirm(id, final);
          break;
        } catch {
          // The change stands; its intent too, until a later attempt or settle() confirms it.
          await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
        }
      }
      return result;
    },

    /**
     * Resolves intents older than `graceMs` (their writer is done or dead) with `check`, which looks
     * at the record: `applied` confirms the entry (noted as confirmed afterwards), `not_applied`
     * drops the intent, `unknown` leaves it for verify to name. Returns how many were resolved.
     */
    async settle(check: (intent: AuditIntent) => Promise<IntentOutcome>, graceMs = 30_000): Promise<{ confirmed: number; dropped: number; open: number }> {
      const out = { confirmed: 0, dropped: 0, open: 0 };
      const cutoff = now().getTime() - graceMs;
      for (const intent of await intents()) {
        if (Date.parse(intent.at) > cutoff) continue;
        const outcome = await check(intent);
        if (outcome === 'applied') {
          const note = `confirmed after the change was found in place${intent.error ? ` (its writer saw: ${intent.error})` : ''}; the record before it was not captured${intent.note ? `. ${intent.note}` : ''}`;
          if (await confirm(intent.id, { actor: intent.actor, action: intent.action, object: intent.object, before: null, after: intent.after, note, at: new Date(intent.at), ...(intent.requestId ? { requestId: intent.requestId } : {}) })) out.confirmed++;
        } else if (outcome === 'not_applied') {
          if ((await redis.hdel(keys.audit.intents, intent.id)) === 1) out.dropped++;
        } else out.open++;
      }
      return out;
    },

    /** Sealed entries newest first, filtered by actor, object and time (ids are time-ordered). */
    async list(query: AuditQuery): Promise<AuditPage> {
      const unsealed = await sealForReaders();
      const entries: AuditEntry[] = [];
      let end = query.cursor ? `(${query.cursor}` : upper(query.until);
      const start = lower(query.since);
      let scanned = 0;
      while (entries.length < query.limit && scanned < MAX_SCAN) {
        const chunk = await redis.xrevrange(keys.audit.log, end, start, 'COUNT', CHUNK);
        if (chunk.length === 0) return { entries, nextCursor: null, unsealed };
        for (const [id, fields] of chunk) {
          scanned++;
          end = `(${id}`;
          const e = decode(id, fields);
          if (query.actor !== undefined && e.actor !== query.actor) continue;
          if (query.object !== undefined && e.object !== query.object) continue;
          entries.push(e);
          if (entries.length === query.limit) return { entries, nextCursor: id, unsealed };
        }
        if (chunk.length < CHUNK) return { entries, nextCursor: null, unsealed };
      }
      return { entries, nextCursor: end.slice(1), unsealed };
    },

    /** Every sealed entry in [since, until], oldest first (for export); what waits is sealed first. */
    async *export(q: { since?: Date; until?: Date }): AsyncGenerator<AuditEntry> {
      await sealForReaders();
      for await (const [id, fields] of range(lower(q.since), upper(q.until))) yield decode(id, fields);
    },

    /**
     * Checks the sealed chain over [since, until]: each entry's hash, its link to the one before
     * (also the entry just before the range), gapless seq, and — when the range runs to the end —
     * the head. Names the first broken link, how many entries wait to be sealed and every change
     * whose entry is not confirmed (an intent). Entries trimmed by retention are not checked; the
     * first kept entry's prev is where an archive's last hash must match.
     */
    async verify(q: { since?: Date; until?: Date }): Promise<VerifyResult> {
      const unsealed = await sealForReaders();
      const unconfirmed = (await intents()).slice(0, 100);
      const start = lower(q.since);
      let last: { seq: number; hash: string } | null = null;
      let firstSeq: number | null = null;
      let checked = 0;
      const broken = (id: string, seq: number, reason: BrokenLink['reason'], message: string): VerifyResult =>
        ({ ok: false, checked, firstSeq, lastSeq: last?.seq ?? null, broken: { id, seq, reason, message }, unsealed, unconfirmed });
      if (start !== '-') {
        const [before] = await redis.xrevrange(keys.audit.log, `(${start}`, '-', 'COUNT', 1);
        if (before) {
          const r = rawFields(before[1]);
          last = { seq: r.seq, hash: r.hash };
        }
      }
      for await (const [id, fields] of range(start, upper(q.until))) {
        const r = rawFields(fields);
        firstSeq ??= r.seq;
        if (last && r.seq !== last.seq + 1) return broken(id, r.seq, 'seq_gap', `entry ${id} has seq ${r.seq}, expected ${last.seq + 1}: an entry is missing or was moved`);
        if (last && r.prev !== last.hash) return broken(id, r.seq, 'prev_mismatch', `entry ${id} (seq ${r.seq}) does not carry the hash of the entry before it`);
        if (chainHash(r.prev, r) !== r.hash) return broken(id, r.seq, 'hash_mismatch', `entry ${id} (seq ${r.seq}) does not match its hash: it was changed after it was written`);
        last = { seq: r.seq, hash: r.hash };
        checked++;
      }
      if (!q.until) {
        const h = await head();
        const tail = last ?? { seq: 0, hash: h.hash };
        if (h.raw !== '' && (h.seq !== tail.seq || h.hash !== tail.hash)) {
          return broken('', h.seq, 'head_mismatch', `the chain head names seq ${h.seq} but the log ends at seq ${tail.seq}: entries at the end were removed`);
        }
      }
      return { ok: unconfirmed.length === 0, checked, firstSeq, lastSeq: last?.seq ?? null, broken: null, unsealed, unconfirmed };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
