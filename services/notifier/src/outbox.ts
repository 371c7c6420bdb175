// The alert outbox (a Redis stream written by the ingest and the API) read as a consumer group:
// several notifier instances share the entries, and an entry stays pending until XACK, so one a dead
// instance took is claimed by another after `claimIdleMs` (XAUTOCLAIM).
import type { RedisClient } from '@flopwatch/store';

/** One outbox entry: an alert id and what happened to it. */
export interface OutboxEntry {
  /** Stream entry id. */
  entryId: string;
  alertId: string;
  type: string;
}

export interface OutboxReaderOptions {
  redis: RedisClient;
  stream: string;
  group: string;
  consumer: string;
  claimIdleMs: number;
  batchSize: number;
}

type RawEntry = [string, string[]];

function toEntry([entryId, fields]: RawEntry): OutboxEntry {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  return { entryId, alertId: map.get('id') ?? '', type: map.get('type') ?? 'alert.raised' };
}

export function createOutboxReader(options: OutboxReaderOptions) {
  const { redis, stream, group, consumer } = options;
  let claimCursor = '0-0';

  return {
    /** Creates the group (reading from the stream's start, so nothing written before is missed). */
    async ensureGroup(): Promise<void> {
      try {
        await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error) || !err.message.includes('BUSYGROUP')) throw err;
      }
    },

    /** Entries left pending too long by any instance (including this one after a failure), then new ones. */
    async read(): Promise<OutboxEntry[]> {
      const [next, claimed] = (await redis.xautoclaim(stream, group, consumer, options.claimIdleMs, claimCursor, 'COUNT', options.batchSize)) as [string, (RawEntry | null)[]];
      claimCursor = next;
      const taken = claimed.filter((e): e is RawEntry => e !== null).map(toEntry);
      if (taken.length > 0) return taken;
      const fresh = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', options.batchSize, 'STREAMS', stream, '>')) as [string, RawEntry[]][] | null;
      return (fresh?.[0]?.[1] ?? []).map(toEntry);
    },

    async ack(entryIds: string[]): Promise<void> {
      if (entryIds.length > 0) {
        await redis.xack(stream, group, ...entryIds);
        // Delivered entries leave the stream; undelivered ones are never trimmed (see raise-alert-7.lua).
        await redis.xdel(stream, ...entryIds);
      }
    },

    /** Entries the group has not acknowledged: never read (lag) plus read and pending. */
    async lag(): Promise<number> {
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

export type OutboxReader = ReturnType<typeof createOutboxReader>;
