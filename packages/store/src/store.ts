import { createAccounting } from './accounting.js';
import { createBooks } from './books.js';
import { createAlertCases } from './alert-cases.js';
import { createAlertStore } from './alerts.js';
import { createAuditLog } from './audit.js';
import { createCasebook } from './casebook.js';
import { createKeys } from './keys.js';
import { createNotifyChannels } from './notify-channels.js';
import { createLineageLinks } from './lineage-links.js';
import { createRegistryChanges } from './registry-changes.js';
import { createRegistry } from './registry.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';
import { createWebhookStore } from './webhooks.js';
import { createPendingEvaluations } from './pending-evaluations.js';
import { createOutboxReader, type OutboxReaderOptions } from './streams.js';
import { createUsage } from './usage.js';
import { createSnapshots } from './snapshots.js';
import { createJobShapes } from './job-shapes.js';
import { createBehaviourLinks } from './behaviour-links.js';

export interface StoreOptions {
  redis: RedisClient;
  /** Key prefix; isolates deployments and tests sharing one Redis. */
  prefix?: string;
  /** See AccountingOptions.activeWindowMs. Default: 15 minutes. */
  activeWindowMs?: number;
  /** See AccountingOptions.maxLatenessMs; the ingest passes the policy pack's. Default: 45 days, the default pack's. */
  maxLatenessMs?: number;
  /** See AccountingOptions.maxAgeMs; the ingest passes the policy pack's. Default: 400 days, the default pack's. */
  maxAgeMs?: number;
  /** See AccountingOptions.maxIntervalMs; the ingest passes the policy pack's. Default: 1 hour, the default pack's. */
  maxIntervalMs?: number;
  /** Audit entries older than this many days are trimmed as new ones are written. Default 0: keep everything. */
  auditRetentionDays?: number;
}

/** The Redis-backed store: keys, scripts and facades over one client (the caller owns the client). */
export function createStore({ redis, prefix = 'fw:', activeWindowMs = 15 * 60_000, maxLatenessMs = 45 * 86_400_000, maxAgeMs = 400 * 86_400_000, maxIntervalMs = 3_600_000, auditRetentionDays = 0 }: StoreOptions) {
  const client = defineScripts(redis);
  const keys = createKeys(prefix);
  const accounting = createAccounting({ redis: client, keys, activeWindowMs, maxLatenessMs, maxAgeMs, maxIntervalMs });
  const registry = createRegistry({ redis: client, keys });
  const audit = createAuditLog({ redis: client, keys, retentionDays: auditRetentionDays });
  const casebook = createCasebook({ redis: client, keys, audit });
  const books = createBooks({ redis: client, keys, accounting, registry });
  const lineageLinks = createLineageLinks({ redis: client, keys, registry });
  const jobShapes = createJobShapes({ redis: client, keys });
  return {
    /**
     * The raw client and key builder, for tests and tools only: services read through the facades
     * below (a lint rule keeps `store.redis` and `store.keys` out of the services).
     */
    redis: client,
    keys,
    accounting,
    alerts: createAlertStore({ redis: client, keys, audit }),
    registry,
    lineageLinks,
    /** Per cluster, each job's first and last minute and its shape (behavioural links). */
    jobShapes,
    /** Suspected behavioural links between tenants, their evidence and the analysts' decisions. */
    behaviourLinks: createBehaviourLinks({ redis: client, keys, jobShapes, lineageLinks, audit, lineages: () => client.zrange(keys.registry.lineages, 0, -1) }),
    registryChanges: createRegistryChanges({ redis: client, keys }),
    cases: createAlertCases({ redis: client, keys, audit }),
    casebook,
    audit,
    usage: createUsage({ accounting, registry, books }),
    /** The books as rules read them: typed tenant and lineage snapshots, the event clock. */
    books,
    /** Subject snapshots (tenant, group, lineage) at the evaluation's event time: what policy reads. */
    snapshots: createSnapshots({ books, registry }),
    webhooks: createWebhookStore({ redis: client, keys }),
    /** Subjects whose alert evaluation has not finished yet; the ingest retries them. */
    pendingEvaluations: createPendingEvaluations({ redis: client, keys }),
    notifyChannels: createNotifyChannels({ redis: client, keys }),
    /** The alert outbox read through a consumer group (one reader per notifier instance). */
    outbox: (options: OutboxReaderOptions) => createOutboxReader(client, keys.alerts.outbox, options),
  };
}

export type Store = ReturnType<typeof createStore>;
