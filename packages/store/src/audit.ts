import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** One change to a record, as the audit log keeps it. */
export interface AuditEntry {
  /** Stream id (`<ms>-<seq>`): unique, ordered by time; the cursor of listings. */
  id: string;
  at: string;
  /** Who made the change: the API key's name, or a service. */
  actor: string;
  /** What was done, e.g. `tenant.put`, `alert.acknowledge`. */
  action: string;
  /** What it was done to: `<kind>:<id>`, e.g. `tenant:acme`, `alert:al_…`. */
  object: string;
  before: unknown;
  after: unknown;
  note?: string;
  requestId?: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'> & { at?: Date };

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

// A filtered page reads at most this many entries; a sparse filter continues through nextCursor.
const MAX_SCAN = 10_000;
const CHUNK = 500;

/** The append-only audit log (a Redis stream): who changed what, when, from what to what. */
export function createAuditLog({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const decode = (id: string, fields: string[]): AuditEntry => {
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
    const data = JSON.parse(f.get('data') ?? '{}') as { before?: unknown; after?: unknown; note?: string; requestId?: string };
    return {
      id,
      at: f.get('at') ?? new Date(Number(id.split('-')[0])).toISOString(),
      actor: f.get('actor') ?? '',
      action: f.get('action') ?? '',
      object: f.get('object') ?? '',
      before: data.before ?? null,
      after: data.after ?? null,
      ...(data.note === undefined ? {} : { note: data.note }),
      ...(data.requestId === undefined ? {} : { requestId: data.requestId }),
    };
  };

  return {
    /** Appends one entry; returns its id. */
    async append(entry: NewAuditEntry): Promise<string> {
      const at = (entry.at ?? new Date()).toISOString();
      const data = JSON.stringify({ before: entry.before ?? null, after: entry.after ?? null, note: entry.note, requestId: entry.requestId });
      const id = await redis.xadd(keys.audit.log, '*', 'at', at, 'actor', entry.actor, 'action', entry.action, 'object', entry.object, 'data', data);
      return id!;
    },

    /** Entries newest first, filtered by actor, object and time (ids are time-ordered). */
    async list(query: AuditQuery): Promise<AuditPage> {
      const entries: AuditEntry[] = [];
      let end = query.cursor ? `(${query.cursor}` : query.until ? String(query.until.getTime()) : '+';
      const start = query.since ? String(query.since.getTime()) : '-';
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
  };
}

export type AuditLog = ReturnType<typeof createAuditLog>;
