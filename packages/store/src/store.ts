import { createAccounting } from './accounting.js';
import { createBooks } from './books.js';
import { createAlertCases } from './alert-cases.js';
import { createAlertStore } from './alerts.js';
import { createAuditLog } from './audit.js';
import { createCaseIndex } from './case-index.js';
import type { AuditKeyring } from './audit-keys.js';
import { createCasebook } from './casebook.js';
import { createCaseMoves } from './case-moves.js';
import { createKeys } from './keys.js';
import { createNotifyChannels } from './notify-channels.js';
import { createLineageLinks } from './lineage-links.js';
import { createRegistryChanges } from './registry-changes.js';
import { createRegistry } from './registry.js';
import type { RedisClient } from './redis.js';
import { createWebhookStore } from './webhooks.js';
import { createPendingEvaluations } from './pending-evaluations.js';
import { createOutboxReader, type OutboxReaderOptions } from './streams.js';
import { createStatementBooks } from './statement-books.js';
import { createUsage } from './usage.js';
import { createSnapshots } from './snapshots.js';
import { createSlurmMarks } from './slurm-marks.js';
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
  /** The audit chain's HMAC keys (kept outside Redis); without them entries are sealed unkeyed. */
  auditKeyring?: AuditKeyring | null;
  /** Copy sealed audit entries to the publication outbox, for a publisher to send to Kafka. Default false. */
  auditPublish?: boolean;
  /** Tenants sharing one KYC identifier above which it is shown on cases but does not link them. Default 50. */
  linkMaxShared?: number;
}

/**
 * The Redis-backed store: facades over one client (the caller owns the client). It hands out neither
 * the client nor the key names: tests reach Redis through their own client and `createKeys(prefix)`.
 */
export function createStore({ redis, prefix = 'fw:', activeWindowMs = 15 * 60_000, maxLatenessMs = 45 * 86_400_000, maxAgeMs = 400 * 86_400_000, maxIntervalMs = 3_600_000, auditRetentionDays = 0, auditKeyring = null, auditPublish = false, linkMaxShared = 50 }: StoreOptions) {
  // Each facade registers the scripts it calls on the client (defineScripts, src/scripts.ts).
  const client = redis;
  const keys = createKeys(prefix);
  const accounting = createAccounting({ redis: client, keys, activeWindowMs, maxLatenessMs, maxAgeMs, maxIntervalMs });
  const registry = createRegistry({ redis: client, keys, maxShared: linkMaxShared });
  const audit = createAuditLog({ redis: client, keys, retentionDays: auditRetentionDays, keyring: auditKeyring, publish: auditPublish });
  const casebook = createCasebook({ redis: client, keys, audit });
  const books = createBooks({ redis: client, keys, accounting, registry });
  const lineageLinks = createLineageLinks({ redis: client, keys, registry });
  const jobShapes = createJobShapes({ redis: client, keys });
  return {
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
    /** The case queue's indexes: pages, counts and the migration of a store written before them. */
    caseIndex: createCaseIndex({ redis: client, keys }),
    /** Case and alert transitions, each moving the case and its alerts in one step; recovery of drifted cases. */
    caseMoves: createCaseMoves({ redis: client, keys, audit }),
    audit,
    usage: createUsage({ accounting, registry, books }),
    /** The books as rules read them: typed tenant and lineage snapshots, the event clock. */
    books,
    /** What a signed compute statement reads: exact cumulative figures, day buckets, lineage shares. */
    statementBooks: createStatementBooks({ redis: client, keys }),
    /** Subject snapshots (tenant, group, lineage) at the evaluation's event time: what policy reads. */
    snapshots: createSnapshots({ books, registry }),
    webhooks: createWebhookStore({ redis: client, keys }),
    /** Subjects whose alert evaluation has not finished yet; the ingest retries them. */
    pendingEvaluations: createPendingEvaluations({ redis: client, keys }),
    notifyChannels: createNotifyChannels({ redis: client, keys }),
    /** The collector's Slurm poller state: job marks per cluster, each endpoint's last poll. */
    slurmMarks: createSlurmMarks({ redis: client, keys }),
    /** The alert outbox read through a consumer group (one reader per notifier instance). */
    outbox: (options: OutboxReaderOptions) => createOutboxReader(client, keys.alerts.outbox, options),
  };
}

export type Store = ReturnType<typeof createStore>;
