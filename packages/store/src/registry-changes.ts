import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { createStreamGroup, entryFields, type StreamEntry } from './streams.js';

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

function parse([id, fields]: StreamEntry): RegistryChange {
  const f = entryFields(fields);
  return { id, tenantId: f.get('tenantId') || null, lineageId: f.get('lineageId') || null, groups: JSON.parse(f.get('groups') ?? '[]') as string[] };
}

/**
 * The registry's change stream: the registry appends, each ingest instance reads through one consumer
 * group (so several instances share the work) and acknowledges after re-evaluating.
 */
export function createRegistryChanges({ redis, keys, maxLen = 100_000 }: RegistryChangesOptions) {
  const stream = keys.registry.changes;
  const changes = createStreamGroup({ redis, stream, parse });
  return {
    async append(change: { tenantId?: string; lineageId?: string; groups?: string[] }): Promise<void> {
      await redis.xadd(stream, 'MAXLEN', '~', maxLen, '*',
        'tenantId', change.tenantId ?? '', 'lineageId', change.lineageId ?? '', 'groups', JSON.stringify(change.groups ?? []));
    },

    /** Creates the consumer group if missing, reading from the stream's start (re-evaluation is idempotent). */
    ensureGroup: (group: string) => changes.ensureGroup(group),

    /**
     * Up to `count` changes for this consumer: first those another consumer claimed but left
     * unacknowledged for `claimIdleMs` (it died), then new ones. Does not block.
     */
    async read(group: string, consumer: string, count: number, claimIdleMs: number): Promise<RegistryChange[]> {
      return (await changes.read(group, consumer, count, claimIdleMs)).entries;
    },

    ack: (group: string, ids: string[]) => changes.ack(group, ids),
  };
}

export type RegistryChanges = ReturnType<typeof createRegistryChanges>;
