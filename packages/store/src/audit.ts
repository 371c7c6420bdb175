import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { chainHash, createChainChecker, formatFloor, parseFloor, parseHead, type BrokenReason, type Floor, type SealedFields } from './audit-chain.js';
import { entryMac, floorMac, type AuditKeyring } from './audit-keys.js';

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
  /** The id of the key the entry was sealed with, and its HMAC (audit-keys.ts); absent when sealed unkeyed. */
  kid?: string;
  mac?: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at' | 'seq' | 'prev' | 'hash' | 'kid' | 'mac'> & { at?: Date };

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
  reason: BrokenReason;
  message: string;
}

/**
 * A difference between the log in Redis and its copy (the Kafka topic): entries of seq `fromSeq` to
 * `toSeq` were deleted (in the middle or at the start), truncated (cut at the end) or rewritten in
 * the store named by `where`.
 */
export interface AuditFinding {
  kind: 'deleted' | 'truncated' | 'rewritten';
  where: 'redis' | 'kafka';
  fromSeq: number;
  toSeq: number;
  message: string;
}

/**
 * Reads the other copy of the sealed entries (the Kafka topic) from `since` (or its start), handing
 * them over in batches; duplicates and any order are accepted.
 */
export type AuditCopyReader = (q: { since?: Date }, onEntries: (entries: SealedFields[]) => void) => Promise<void>;

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
  /** Whether MACs were checked (a keyring is configured). */
  keyed: boolean;
  /** Entries without a MAC accepted: sealed before keys were configured. */
  unkeyed: number;
  /** The last seq retention trimmed (the oldest entry must follow it); null when nothing was trimmed. */
  floor: { seq: number } | null;
  /** The comparison with the copy, when one was read: its entries read, first and last seq, and entries sealed but not published yet. */
  copy: { read: number; firstSeq: number | null; lastSeq: number | null; unpublished: number } | null;
  /** Differences between the log and its copy (at most 100). */
  findings: AuditFinding[];
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
  /** The HMAC keys (from outside Redis): the active one seals, all verify. Null/absent: sealed unkeyed. */
  keyring?: AuditKeyring | null;
  /** Copy each sealed entry to the publication outbox (a publisher sends it to Kafka). Default false. */
  publish?: boolean;
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
    ...(f.get('mac') ? { kid: f.get('kid') ?? '', mac: f.get('mac')! } : {}),
  };
};

/** Raw stream fields of an entry, for checking its hash over the text as stored. */
const rawFields = (id: string, fields: string[]): SealedFields => {
  const f = fieldMap(fields);
  return { id, seq: Number(f.get('seq')), at: f.get('at') ?? '', actor: f.get('actor') ?? '', action: f.get('action') ?? '', object: f.get('object') ?? '', data: f.get('data') ?? '', prev: f.get('prev') ?? '', hash: f.get('hash') ?? '', kid: f.get('kid') ?? '', mac: f.get('mac') ?? '' };
};

/** An entry as listed and exported, from its fields as stored (a log entry, or its copy in Kafka). */
export function toAuditEntry(f: SealedFields): AuditEntry {
  const flat = ['seq', String(f.seq), 'at', f.at, 'actor', f.actor, 'action', f.action, 'object', f.object, 'data', f.data, 'prev', f.prev, 'hash', f.hash, 'kid', f.kid, 'mac', f.mac];
  return decode(f.id, flat);
}

/** Stream ids compared as `<ms>-<n>`: negative when a is before b. */
function compareIds(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('-').map(Number);
  const [bm = 0, bn = 0] = b.split('-').map(Number);
  return am - bm || an - bn;
}

/** The id right after `id` (XTRIM MINID keeps it and what follows). */
function nextId(id: string): string {
  const [ms, n] = id.split('-');
  return `${ms}-${BigInt(n ?? '0') + 1n}`;
}

/** The smallest and largest of some seqs (a loop: a spread of millions would overflow the stack); nulls when there are none. */
function bounds(seqs: Iterable<number>): [number | null, number | null] {
  let min: number | null = null;
  let max: number | null = null;
  for (const s of seqs) {
    if (min === null || s < min) min = s;
    if (max === null || s > max) max = s;
  }
  return [min, max];
}

/** Consecutive per-seq findings of one kind in one store, merged into ranges. */
function mergeFindings(list: { seq: number; kind: AuditFinding['kind']; where: AuditFinding['where'] }[]): AuditFinding[] {
  const sorted = [...list].sort((a, b) => a.seq - b.seq);
  const out: Omit<AuditFinding, 'message'>[] = [];
  for (const f of sorted) {
    const last = out.at(-1);
    if (last && last.kind === f.kind && last.where === f.where && last.toSeq + 1 >= f.seq) last.toSeq = f.seq;
    else out.push({ kind: f.kind, where: f.where, fromSeq: f.seq, toSeq: f.seq });
  }
  const other = (w: AuditFinding['where']) => (w === 'redis' ? 'Kafka' : 'Redis');
  const words = { deleted: 'were deleted from', truncated: 'were cut from the end of', rewritten: 'were rewritten in' };
  return out.slice(0, 100).map((f) => ({
    ...f,
    message: `entries ${f.fromSeq === f.toSeq ? f.fromSeq : `${f.fromSeq}–${f.toSeq}`} ${words[f.kind]} ${f.where === 'redis' ? 'Redis' : 'Kafka'} (${other(f.where)} ${f.kind === 'rewritten' ? 'holds them as sealed' : 'holds them'})`,
  }));
}

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
export function createAuditLog({ redis, keys, retentionDays = 0, now = () => new Date(), sealerLeaseMs = 15_000, keyring = null, publish = false }: AuditLogOptions) {
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

  /**
   * The trimming arguments of the sealing script: the newest entry older than the retention, to trim
   * up to, and the floor recording it (with its MAC); all '' when retention keeps everything or
   * nothing is old.
   */
  async function trimArgs(): Promise<{ trimId: string; trimSeq: string; floor: string; minId: string }> {
    const none = { trimId: '', trimSeq: '', floor: '', minId: '' };
    if (retentionDays <= 0) return none;
    const [last] = await redis.xrevrange(keys.audit.log, `(${minId()}-0`, '-', 'COUNT', 1);
    if (!last) return none;
    const r = rawFields(last[0], last[1]);
    const key = keyring ? keyring.keys.get(keyring.activeId)! : null;
    const floor: Floor = { seq: r.seq, hash: r.hash, kid: key ? keyring!.activeId : '', mac: key ? floorMac(key, keyring!.activeId, r.seq, r.hash) : '' };
    return { trimId: last[0], trimSeq: String(r.seq), floor: formatFloor(floor), minId: nextId(last[0]) };
  }

  /** Seals the oldest waiting entries (one script); the number sealed, or null when the lease is not ours. */
  async function sealBatch(): Promise<number | null> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const h = await head();
      const waiting = await redis.xrange(keys.audit.unsealed, '-', '+', 'COUNT', SEAL_BATCH);
      if (waiting.length === 0) return 0;
      const trim = await trimArgs();
      const entries: (string | number)[] = [];
      const key = keyring ? keyring.keys.get(keyring.activeId)! : null;
      let prev = h.hash;
      let seq = h.seq;
      for (const [id, fields] of waiting) {
        const f = fieldMap(fields);
        seq++;
        const hash = chainHash(prev, { seq, at: f.get('at') ?? '', actor: f.get('actor') ?? '', action: f.get('action') ?? '', object: f.get('object') ?? '', data: f.get('data') ?? '' });
        entries.push(id, seq, prev, hash, key ? keyring!.activeId : '', key ? entryMac(key, keyring!.activeId, hash) : '');
        prev = hash;
      }
      const reply = await scripts.sealAudit({
        keys: { log: keys.audit.log, head: keys.audit.head, unsealed: keys.audit.unsealed, lease: keys.audit.sealer, floor: keys.audit.floor, outbox: keys.audit.outbox, caseAudit: keys.audit.cases },
        args: { token: owner, head: h.raw, publish: publish ? '1' : '0', ...trim, entries },
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

  const self = {
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

    /**
     * Every sealed entry of one case, newest first, however long the log: the sealer lists each
     * case's entries as it seals them (lua/seal-audit-7.lua). What waits is sealed first; entries
     * trimmed by retention are dropped from the list.
     */
    async caseEntries(caseId: string): Promise<{ entries: AuditEntry[]; unsealed: number }> {
      const unsealed = await sealForReaders();
      const ids = await redis.zrevrange(keys.audit.caseEntries(caseId), 0, -1);
      const entries: AuditEntry[] = [];
      const trimmed: string[] = [];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const pipeline = redis.pipeline();
        for (const id of chunk) pipeline.xrange(keys.audit.log, id, id);
        const replies = (await pipeline.exec()) ?? [];
        for (const [j, [err, found]] of replies.entries()) {
          if (err) throw err;
          const item = (found as [string, string[]][])[0];
          if (item) entries.push(decode(item[0], item[1]));
          else trimmed.push(chunk[j]!);
        }
      }
      if (trimmed.length > 0) await redis.zrem(keys.audit.caseEntries(caseId), ...trimmed);
      return { entries, unsealed };
    },

    /**
     * Lists the case entries sealed before the per-case lists existed (one pass over the log, then a
     * mark: a no-op afterwards). Returns how many entries it listed.
     */
    async indexCases(): Promise<number> {
      if ((await redis.get(keys.audit.casesIndexed)) !== null) return 0;
      let listed = 0;
      const run = async (p: ReturnType<RedisClient['pipeline']>) => {
        for (const [err] of (await p.exec()) ?? []) if (err) throw err;
      };
      let pipeline = redis.pipeline();
      for await (const [id, fields] of range('-', '+')) {
        const f = fieldMap(fields);
        const object = f.get('object') ?? '';
        if (!object.startsWith('case:')) continue;
        pipeline.zadd(keys.audit.caseEntries(object.slice(5)), Number(f.get('seq') ?? 0), id);
        if (++listed % CHUNK === 0) {
          await run(pipeline);
          pipeline = redis.pipeline();
        }
      }
      await run(pipeline);
      await redis.set(keys.audit.casesIndexed, '1');
      return listed;
    },

    /** Every sealed entry in [since, until], oldest first (for export); what waits is sealed first. */
    async *export(q: { since?: Date; until?: Date }): AsyncGenerator<AuditEntry> {
      await sealForReaders();
      for await (const [id, fields] of range(lower(q.since), upper(q.until))) yield decode(id, fields);
    },

    /** Sealed entries waiting to be published (oldest first, at most `count`), with their outbox ids. */
    async unpublished(count = 500): Promise<{ outboxId: string; entry: SealedFields }[]> {
      const rows = await redis.xrange(keys.audit.outbox, '-', '+', 'COUNT', count);
      return rows.map(([outboxId, fields]) => {
        const entry = rawFields('', fields);
        return { outboxId, entry: { ...entry, id: fieldMap(fields).get('logid') ?? '' } };
      });
    },

    /** Removes published entries from the outbox (once the broker has acknowledged them). */
    async markPublished(outboxIds: string[]): Promise<void> {
      if (outboxIds.length > 0) await redis.xdel(keys.audit.outbox, ...outboxIds);
    },

    /** How many sealed entries wait to be published. */
    unpublishedCount: () => redis.xlen(keys.audit.outbox),

    /**
     * Checks the sealed chain over [since, until]: each entry's hash and MAC, its link to the one
     * before (the entry just before the range, or — from the beginning — the floor retention
     * recorded), gapless seq, and — when the range runs to the end — the head. Names the first broken
     * link, how many entries wait to be sealed and every change whose entry is not confirmed (an
     * intent). With `copy` (the Kafka topic), also compares the two entry by entry and names what was
     * deleted, truncated or rewritten in either.
     */
    async verify(q: { since?: Date; until?: Date; copy?: AuditCopyReader }): Promise<VerifyResult> {
      const unsealed = await sealForReaders();
      const unconfirmed = (await intents()).slice(0, 100);
      const start = lower(q.since);
      const end = upper(q.until);
      const floor = parseFloor(await redis.get(keys.audit.floor));
      let before: { seq: number; hash: string } | null = null;
      if (start !== '-') {
        const [entry] = await redis.xrevrange(keys.audit.log, `(${start}`, '-', 'COUNT', 1);
        if (entry) before = rawFields(entry[0], entry[1]);
      }
      const fromStart = before === null;
      const checker = createChainChecker({ keyring, start: before ? { after: before } : { floor } });
      let firstSeq: number | null = null;
      let checked = 0;
      let broken: BrokenLink | null = null;
      const floorProblem = checker.checkFloor();
      if (floorProblem) broken = { id: '', seq: floor?.seq ?? 0, ...floorProblem };
      // What the log holds, for the comparison with the copy: seq → hash and MAC.
      const seen = new Map<number, string>();
      for await (const [id, fields] of range(start, end)) {
        const r = rawFields(id, fields);
        firstSeq ??= r.seq;
        if (q.copy) seen.set(r.seq, `${r.hash} ${r.mac}`);
        if (broken) {
          if (!q.copy) break;
          continue;
        }
        const problem = checker.check(r);
        if (problem) broken = { id, seq: r.seq, ...problem };
        else checked++;
      }
      const last = checker.last();
      if (!q.until && !broken) {
        const h = await head();
        const tail = last ?? { seq: 0, hash: h.hash };
        if (h.raw !== '' && (h.seq !== tail.seq || h.hash !== tail.hash)) {
          broken = { id: '', seq: h.seq, reason: 'head_mismatch', message: `the chain head names seq ${h.seq} but the log ends at seq ${tail.seq}: entries at the end were removed` };
        }
      }
      const compared = q.copy ? await compare(q.copy, seen, { since: q.since, start, end, floor: fromStart ? floor : null, bounded: Boolean(q.until) }) : null;
      const findings = compared?.findings ?? [];
      return {
        ok: !broken && findings.length === 0 && unconfirmed.length === 0,
        checked, firstSeq, lastSeq: last?.seq ?? null, broken, unsealed, unconfirmed,
        keyed: keyring !== null, unkeyed: checker.unkeyed(), floor: floor ? { seq: floor.seq } : null,
        copy: compared?.copy ?? null, findings,
      };
    },
  };

  /**
   * Compares the log's entries (`seen`: seq → "hash mac", read before) with the copy, read now: an
   * entry in both must be the same; one only in the copy was deleted or cut from the log (unless
   * retention trimmed it or it was sealed after the log was read); one only in the log was deleted
   * or cut from the copy (unless it waits to be published, or is older than the copy's oldest).
   */
  async function compare(read: AuditCopyReader, seen: Map<number, string>, q: { since?: Date; start: string; end: string; floor: Floor | null; bounded: boolean }) {
    const pending = new Set((await redis.xrange(keys.audit.outbox, '-', '+')).map(([, f]) => Number(fieldMap(f).get('seq'))));
    const per: { seq: number; kind: AuditFinding['kind']; where: AuditFinding['where'] }[] = [];
    const inCopy = new Map<number, SealedFields>();
    const inRange = (id: string) => (q.start === '-' || compareIds(id, q.start) >= 0) && (q.end === '+' || compareIds(id, `${q.end}-${Number.MAX_SAFE_INTEGER}`) <= 0);
    const genuine = (e: SealedFields) => {
      if (chainHash(e.prev, e) !== e.hash) return false;
      if (!keyring) return true;
      const key = keyring.keys.get(e.kid);
      return Boolean(key && e.mac && entryMac(key, e.kid, e.hash) === e.mac);
    };
    let copied = 0;
    await read(q.since ? { since: q.since } : {}, (entries) => {
      for (const e of entries) {
        if (!inRange(e.id)) continue;
        copied++;
        const other = inCopy.get(e.seq);
        if (!other) inCopy.set(e.seq, e);
        else if (other.hash !== e.hash || other.mac !== e.mac) {
          // Two different entries of one seq in the topic: one was produced by someone else.
          per.push({ seq: e.seq, kind: 'rewritten', where: 'kafka' });
          if (genuine(e) && !genuine(other)) inCopy.set(e.seq, e);
        }
      }
    });
    const headNow = (await head()).seq;
    const [, logLast] = bounds(seen.keys());
    const [copyFirst, copyLast] = bounds(inCopy.keys());
    for (const [seq, e] of inCopy) {
      const mine = seen.get(seq);
      if (mine !== undefined) {
        if (mine !== `${e.hash} ${e.mac}`) per.push({ seq, kind: 'rewritten', where: genuine(e) ? 'redis' : 'kafka' });
        continue;
      }
      if (q.floor && seq <= q.floor.seq) continue; // trimmed by retention
      if (logLast === null || seq > logLast) {
        if (!q.bounded && seq <= headNow) continue; // sealed after the log was read
        per.push({ seq, kind: 'truncated', where: 'redis' });
      } else per.push({ seq, kind: 'deleted', where: 'redis' }); // before the log's first, or in a gap
    }
    let unpublished = 0;
    for (const seq of seen.keys()) {
      if (inCopy.has(seq)) continue;
      if (pending.has(seq)) unpublished++;
      // An empty copy lost everything (deleted); one that stops early was cut (truncated).
      else if (copyFirst === null || seq > copyFirst) per.push({ seq, kind: copyLast !== null && seq > copyLast ? 'truncated' : 'deleted', where: 'kafka' });
    }
    return { findings: mergeFindings(per), copy: { read: copied, firstSeq: copyFirst, lastSeq: copyLast, unpublished } };
  }

  return self;
}

export type AuditLog = ReturnType<typeof createAuditLog>;
