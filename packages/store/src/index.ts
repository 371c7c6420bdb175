export { createKeys, type Keys } from './keys.js';
export { connectRedis, verifyRedisConnection, redisEndpoints, RedisConnectionError, REDIS_CONNECTION_ERROR_CODES, type RedisClient, type RedisConnectOptions, type RedisConnectionErrorCode } from './redis.js';
export { defineScripts, type ScriptCommands } from './scripts.js';
export { OPS_PER_UNIT, countedTeraOps, teraOpsPerMs, teraToOps } from './units.js';
export { createAccounting, isTransientRedisError, sliceField, CONFLICTS_KEPT, type Accounting, type ConflictRecord, type OriginOf, type Coverage, type SliceState, type StoredConflict, type RejectedRecord, type RejectionReason, type TenantApplyResult, type TenantTotals, type UsageRecord } from './accounting.js';
export { createAlertStore, type AlertStore, type StoredAlert } from './alerts.js';
export { createStore, type Store, type StoreOptions } from './store.js';
export { createRegistry, type GroupChange, type Registry, type RegistryLineage, type RegistryTenant } from './registry.js';
export { linkIdentifiers, type LinkFields } from './links.js';
export { createAuditLog, AuditContentionError, ChangeUnconfirmedError, type AuditLog, type AuditEntry, type AuditIntent, type IntentOutcome, type NewAuditEntry, type AuditQuery, type AuditPage, type BrokenLink, type VerifyResult } from './audit.js';
export { startAuditSealer, type AuditSealer, type AuditSealerOptions } from './audit-sealer.js';
export type { EvaluationSubjects, PendingEvaluations } from './pending-evaluations.js';
export { GENESIS, canonical, chainHash } from './audit-chain.js';
export { createCasebook, CaseNotFoundError, type Casebook, type CaseChange, type CaseFilter } from './casebook.js';
export { createAlertCases, type AlertCases, type AlertQuery, type AlertPage, type CaseAlert, type ReplaceResult } from './alert-cases.js';
export { createUsage, sumUsage, type LineageCumulative, type Usage, type TenantUsage, type UsageWindows } from './usage.js';
export {
  createWebhookStore,
  deliveryId,
  DEAD_LETTER_REASONS,
  type DeadLetterReason,
  type Delivery,
  type DeliveryAttempt,
  type DeliveryStatus,
  type NewDelivery,
  type SettleInput,
  type StoredSecret,
  type WebhookEndpoint,
  type WebhookFilter,
  type WebhookStore,
  type WebhookStoreOptions,
} from './webhooks.js';
export { createLineageLinks, type LineageFact, type LineageLink, type LineageLinks, type LinkEvidence } from './lineage-links.js';
export { createRegistryChanges, type RegistryChange, type RegistryChanges, type RegistryChangesOptions } from './registry-changes.js';
export { createNotifyChannels, type CaseState, type ChannelDeadLetter, type ChannelMark, type NotifyChannels, type TrackedCase } from './notify-channels.js';
export { purgePrefix } from './purge.js';
export { createBooks, type Books } from './books.js';
export { createSnapshots, type SnapshotReader, type SnapshotSources, type Snapshots } from './snapshots.js';
export { evaluationTime } from '@flopwatch/contracts';
export { createStreamGroup, createOutboxReader, entryFields, type OutboxEntry, type OutboxReader, type OutboxReaderOptions, type StreamEntry } from './streams.js';
export { createJobShapes, jobShapeKeys, shapeOf, type JobShapeRecord, type JobShapes } from './job-shapes.js';
export { createBehaviourLinks, behaviourKeys, linkIdOf, suspectedGroupId, BehaviourLinkNotFoundError, type BehaviourDecision, type BehaviourEvidence, type BehaviourLink, type BehaviourLinkStatus, type BehaviourLinks, type SuspectedGroup } from './behaviour-links.js';
