import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { chainArgs, chainHash, parseHead } from './audit-chain.js';

/** One change to a record, as the audit log keeps it. */
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
}

/** Where the chain breaks: the first entry whose link does not hold, and why. */
export interface BrokenLink {
  id: string;
  seq: number;
  reason: 'hash_mismatch' | 'prev_mismatch' | 'seq_gap' | 'head_mismatch';
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  broken: BrokenLink | null;
}

/** The chained fields of a write, and what the scripts need to put them in the log. */
export interface AuditWrite {
  /** ARGV[1..10] of the audited scripts. */
  args: (string | number)[];
}

interface AuditCommands {
  appendAudit(...keysAndArgs: (string | number)[]): Promise<number>;
}

export interface AuditLogOptions {
  redis: RedisClient;
  keys: Keys;
  /** Entries older than this many days are trimmed when a new one is written; 0 keeps everything. */
  retentionDays?: number;
  now?: () => Date;
}

// A filtered page reads at most this many entries; a sparse filter continues through nextCursor.
const MAX_SCAN = 10_000;
const CHUNK = 500;
// Concurrent writers: one that lost the compare-and-set on the head re-reads, this often.
export const MAX_CHAIN_ATTEMPTS = 50;

/** Thrown when the chain head kept moving under a writer; retrying later succeeds. */
export class AuditContentionError extends Error {
  readonly code = 'AUDIT_CONTENTION';
  readonly retryable = true;
  constructor(object: string) {
    super(`the audit log kept changing while ${object} was written; nothing was written, retry`);
  }
}

const decode = (id: string, fields: string[]): AuditEntry => {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
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
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  return { seq: Number(f.get('seq')), at: f.get('at') ?? '', actor: f.get('actor') ?? '', action: f.get('action') ?? '', object: f.get('object') ?? '', data: f.get('data') ?? '', prev: f.get('prev') ?? '', hash: f.get('hash') ?? '' };
};

/** The append-only, hash-chained audit log: who changed what, when, from what to what. */
export function createAuditLog({ redis, keys, retentionDays = 0, now = () => new Date() }: AuditLogOptions) {
  const scripts = redis as RedisClient & AuditCommands;

  /** MINID below which entries are trimmed, or '0' (keep everything). */
  const minId = () => (retentionDays > 0 ? String(now().getTime() - retentionDays * 86_400_000) : '0');

  /** The head as it stands; read it before the records a change is computed from. */
  async function head() {
    return parseHead(await redis.get(keys.audit.head));
  }

  /** The chained ARGV of a new entry over `h`. */
  function write(h: Awaited<ReturnType<typeof head>>, entry: NewAuditEntry): AuditWrite {
    const data = JSON.stringify({ before: entry.before ?? null, after: entry.after ?? null, note: entry.note, requestId: entry.requestId });
    const at = (entry.at ?? now()).toISOString();
    return { args: chainArgs(h, { at, actor: entry.actor, action: entry.action, object: entry.object, data }, minId()) };
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

  // Complete stream ids: `<ms>-0` is the first possible entry of a millisecond (an incomplete id as
  // an exclusive bound would mean the whole millisecond).
  const lower = (d: Date | undefined) => (d ? `${d.getTime()}-0` : '-');
  // As an end, an incomplete id covers its whole millisecond.
  const upper = (d: Date | undefined) => (d ? String(d.getTime()) : '+');

  return {
    head,
    write,

    /**
     * Appends one entry for a change made outside the {alerts} slot (KYC, lineages, webhooks), right
     * after that change; case and alert changes write theirs in the same script as the change.
     */
    async append(entry: NewAuditEntry): Promise<string> {
      for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
        const w = write(await head(), entry);
        const reply = await scripts.appendAudit(keys.audit.log, keys.audit.head, ...w.args);
        if (reply === 1) return `${w.args[1]}`;
      }
      throw new AuditContentionError(entry.object);
    },

    /** Entries newest first, filtered by actor, object and time (ids are time-ordered). */
    async list(query: AuditQuery): Promise<AuditPage> {
      const entries: AuditEntry[] = [];
      let end = query.cursor ? `(${query.cursor}` : upper(query.until);
      const start = lower(query.since);
      let scanned = 0;
      while (entries.length < query.limit && scanned < MAX_SCAN) {
        const chunk = await redis.xrevrange(keys.audit.log, end, start, 'COUNT', CHUNK);
        if (chunk.length === 0) return { entries, nextCursor: null };
        for (const [id, fields] of chunk) {
          scanned++;
          end = `(${id}`;
          const e = decode(id, fields);
          if (query.actor !== undefined && e.actor !== query.actor) continue;
          if (query.object !== undefined && e.object !== query.object) continue;
          entries.push(e);
          if (entries.length === query.limit) return { entries, nextCursor: id };
        }
        if (chunk.length < CHUNK) return { entries, nextCursor: null };
      }
      return { entries, nextCursor: end.slice(1) };
    },

    /** Every entry in [since, until], oldest first (for export). */
    async *export(q: { since?: Date; until?: Date }): AsyncGenerator<AuditEntry> {
      for await (const [id, fields] of range(lower(q.since), upper(q.until))) yield decode(id, fields);
    },

    /**
     * Checks the chain over [since, until]: each entry's hash, its link to the one before (also the
     * entry just before the range), gapless seq, and — when the range runs to the end — the head.
     * Names the first broken link. Entries trimmed by retention are not checked; the first kept
     * entry's prev is where an archive's last hash must match.
     */
    async verify(q: { since?: Date; until?: Date }): Promise<VerifyResult> {
      const start = lower(q.since);
      let last: { seq: number; hash: string } | null = null;
      let firstSeq: number | null = null;
      let checked = 0;
      const broken = (id: string, seq: number, reason: BrokenLink['reason'], message: string): VerifyResult =>
        ({ ok: false, checked, firstSeq, lastSeq: last?.seq ?? null, broken: { id, seq, reason, message } });
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
      return { ok: true, checked, firstSeq, lastSeq: last?.seq ?? null, broken: null };
    },
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
