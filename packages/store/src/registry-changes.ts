import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/** One change of the KYC registry that may call for new alerts. */
export interface RegistryChange {
  /** Stream entry id, to acknowledge. */
  id: string;
  tenantId: string | null;
  lineageId: string | null;
  /** Groups whose membership the change touched (old and new). */
  groups: string[];
}

export interface RegistryChangesOptions {
  redis: RedisClient;
  keys: Keys;
  /** Approximate cap on entries kept. */
  maxLen?: number;
}

type Entry = [id: string, fields: string[]];

function parse([id, fields]: Entry): RegistryChange {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
  return { id, tenantId: f.get('tenantId') || null, lineageId: f.get('lineageId') || null, groups: JSON.parse(f.get('groups') ?? '[]') as string[] };
}

/**
 * The registry's change stream: the registry appends, each ingest instance reads through one consumer
 * group (so several instances share the work) and acknowledges after re-evaluating.
 */
export function createRegistryChanges({ redis, keys, maxLen = 100_000 }: RegistryChangesOptions) {
  const stream = keys.registry.changes;
  return {
    async append(change: { tenantId?: string; lineageId?: string; groups?: string[] }): Promise<void> {
      await redis.xadd(stream, 'MAXLEN', '~', maxLen, '*',
        'tenantId', change.tenantId ?? '', 'lineageId', change.lineageId ?? '', 'groups', JSON.stringify(change.groups ?? []));
    },

    /** Creates the consumer group if missing, reading from the stream's start (re-evaluation is idempotent). */
    async ensureGroup(group: string): Promise<void> {
      try {
        await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      } catch (err) {
        if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
      }
    },

    /**
     * Up to `count` changes for this consumer: first those another consumer claimed but left
     * unacknowledged for `claimIdleMs` (it died), then new ones. Does not block.
     */
    async read(group: string, consumer: string, count: number, claimIdleMs: number): Promise<RegistryChange[]> {
      const claimed = (await redis.xautoclaim(stream, group, consumer, claimIdleMs, '0-0', 'COUNT', count)) as [string, Entry[]];
      const stale = (claimed[1] ?? []).filter((e): e is Entry => Array.isArray(e) && Array.isArray(e[1]));
      if (stale.length > 0) return stale.map(parse);
      const fresh = (await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>')) as [string, Entry[]][] | null;
      return (fresh?.[0]?.[1] ?? []).map(parse);
    },

    async ack(group: string, ids: string[]): Promise<void> {
      if (ids.length > 0) await redis.xack(stream, group, ...ids);
    },
  };
}

export type RegistryChanges = ReturnType<typeof createRegistryChanges>;
