import type { RedisClient } from './redis.js';

// Redis streams read through a consumer group, in one place: the alert outbox (notifiers) and the
// registry change stream (ingest instances). Several readers share the entries; an entry stays pending
// until acknowledged, and one a dead reader took is claimed by another after `claimIdleMs` (XAUTOCLAIM).

/** A raw stream entry: id and flat field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** The fields of an entry as a map. */
export function entryFields(fields: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return map;
}

export interface StreamGroupOptions<T> {
  redis: RedisClient;
  stream: string;
  parse: (entry: StreamEntry) => T;
}

/** Reading one stream through consumer groups. */
export function createStreamGroup<T>({ redis, stream, parse }: StreamGroupOptions<T>) {
  return {
    /** Creates the group if missing, reading from the stream's start (nothing written before is missed). */
    async ensureGroup(group: string): Promise<void> {
      try {
        await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
      }
    },

    /**
     * Up to `count` entries for this consumer: first those left pending longer than `claimIdleMs` by
     * any consumer (one that died, or this one after a failure), from `cursor`, then new ones. Does
     * not block. Returns the entries and the claim cursor to pass next time.
     */
    async read(group: string, consumer: string, count: number, claimIdleMs: number, cursor = '0-0'): Promise<{ entries: T[]; cursor: string }> {
      const [next, claimed] = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, cursor, 'COUNT', count)) as [string, (StreamEntry | null)[]];
      const stale = (claimed ?? []).filter((e): e is StreamEntry => Array.isArray(e) && Array.isArray(e[1]));
      if (stale.length > 0) return { entries: stale.map(parse), cursor: next };
      const fresh = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')) as [string, StreamEntry[]][] | null;
      return { entries: (fresh?.[0]?.[1] ?? []).map(parse), cursor: next };
    },

    async ack(group: string, ids: string[], options: { delete?: boolean } = {}): Promise<void> {
      if (ids.length === 0) return;
      await redis.xack(stream, group, ...ids);
      if (options.delete) await redis.xdel(stream, ...ids);
    },

    /** Entries the group has not acknowledged: never read (lag) plus read and pending. */
    async lag(group: string): Promise<number> {
      const groups = (await redis.xinfo('GROUPS', stream)) as (string | number | null)[][];
      for (const g of groups) {
        const info = new Map<string, string | number | null>();
        for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1] ?? null);
        if (info.get('name') === group) return Number(info.get('lag') ?? 0) + Number(info.get('pending') ?? 0);
      }
      return await redis.xlen(stream);
    },
  };
}

/** One alert outbox entry: an alert id and what happened to it. */
export interface OutboxEntry {
  /** Stream entry id. */
  entryId: string;
  alertId: string;
  type: string;
  /** Set on a redelivered dead letter: the one channel the entry is for (the others delivered it). */
  channel?: string;
}

export interface OutboxReaderOptions {
  group: string;
  consumer: string;
  claimIdleMs: number;
  batchSize: number;
}

/** The alert outbox (written by raise-alert and the API) read by one notifier instance of a group. */
export function createOutboxReader(redis: RedisClient, stream: string, options: OutboxReaderOptions) {
  const streamGroup = createStreamGroup<OutboxEntry>({
    redis,
    stream,
    parse: ([entryId, fields]) => {
      const f = entryFields(fields);
      const channel = f.get('channel');
      return { entryId, alertId: f.get('id') ?? '', type: f.get('type') ?? 'alert.raised', ...(channel ? { channel } : {}) };
    },
  });
  let claimCursor = '0-0';
  return {
    ensureGroup: () => streamGroup.ensureGroup(options.group),

    /** Entries left pending too long by any instance (including this one after a failure), then new ones. */
    async read(): Promise<OutboxEntry[]> {
      const { entries, cursor } = await streamGroup.read(options.group, options.consumer, options.batchSize, options.claimIdleMs, claimCursor);
      claimCursor = cursor;
      return entries;
    },

    /** Delivered entries leave the stream; undelivered ones are never trimmed (see raise-alert-8.lua). */
    ack: (entryIds: string[]) => streamGroup.ack(options.group, entryIds, { delete: true }),

    lag: () => streamGroup.lag(options.group),
  };
}

export type OutboxReader = ReturnType<typeof createOutboxReader>;
