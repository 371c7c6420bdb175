export { createKeys, type Keys } from './keys.js';
export { connectRedis, verifyRedisConnection, redisDriver, redisEndpoints, RedisConnectionError, REDIS_CONNECTION_ERROR_CODES, type RedisClient, type RedisConnectOptions, type RedisConnectionErrorCode } from './redis.js';
export { defineScripts, SCRIPTS, type ScriptArg, type ScriptCall, type Scripts } from './scripts.js';
export { REPLY_CODES, ScriptReplyError, decodeReply, type ReplyCode } from './reply-codes.js';
export { OPS_PER_UNIT, countedTeraOps, teraOpsPerMs, teraToOps } from './units.js';
export { createAccounting, isTransientRedisError, sliceField, CONFLICTS_KEPT, type Accounting, type ConflictRecord, type OriginOf, type Coverage, type SliceState, type StoredConflict, type RejectedRecord, type RejectionReason, type TenantApplyResult, type TenantTotals, type UsageRecord } from './accounting.js';
export { createAlertStore, type AlertStore, type StoredAlert } from './alerts.js';
export { createStore, type Store, type StoreOptions } from './store.js';
export { createRegistry, type GroupChange, type Registry, type RegistryLineage, type RegistryTenant } from './registry.js';
export { explainLink, linkIdentifiers, LINK_RULE_VERSION, type LinkFields, type LinkReason, type WidelyShared } from './links.js';
export { nameKey, nameSimilarity, nameTokens } from './entity-names.js';
export { createAuditLog, toAuditEntry, AuditContentionError, ChangeUnconfirmedError, type AuditCopyReader, type AuditFinding, type AuditLog, type AuditEntry, type AuditIntent, type IntentOutcome, type NewAuditEntry, type AuditQuery, type AuditPage, type BrokenLink, type VerifyResult } from './audit.js';
export { startAuditSealer, type AuditSealer, type AuditSealerOptions } from './audit-sealer.js';
export type { EvaluationSubjects, PendingEvaluations } from './pending-evaluations.js';
export { GENESIS, canonical, chainHash, createChainChecker, parseFloor, type BrokenReason, type Floor, type SealedFields } from './audit-chain.js';
export { parseAuditKeys, entryMac, floorMac, AuditKeyError, MIN_AUDIT_KEY_BYTES, type AuditKeyring } from './audit-keys.js';
export { createCaseIndex, caseIndexEntry, caseFacets, priorityKey, facetsMatch, CASE_INDEX_VERSION, type CaseIndex, type CaseIndexEntry, type CaseFacets, type CaseCounts, type CaseGroup, type CaseQueueQuery, type CaseSort } from './case-index.js';
export { createCasebook, CaseNotFoundError, type Casebook, type CaseChange, type CaseFilter } from './casebook.js';
export { createCaseMoves, joinCase, AlertNotFoundError, type CaseMove, type CaseMoves, type MoveBy, type Reconciled } from './case-moves.js';
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
export { createNotifyChannels, type CaseState, type ChannelDeadLetter, type ChannelHold, type ChannelMark, type HoldReason, type Redelivered, type NotifyChannels, type TrackedCase } from './notify-channels.js';
export { purgePrefix } from './purge.js';
export { createBooks, type Books } from './books.js';
export { createStatementBooks, type CumulativeFigures, type LineageShare, type MeasureTeraOps, type RefusedReport, type StatementBooks } from './statement-books.js';
export { createSlurmMarks, type SlurmMarks } from './slurm-marks.js';
export { createSnapshots, type SnapshotReader, type SnapshotSources, type Snapshots } from './snapshots.js';
export { evaluationTime } from '@flopwatch/contracts';
export { createStreamGroup, createOutboxReader, entryFields, type OutboxEntry, type OutboxReader, type OutboxReaderOptions, type StreamEntry } from './streams.js';
export { createJobShapes, jobShapeKeys, shapeOf, type JobShapeRecord, type JobShapes } from './job-shapes.js';
export { createBehaviourLinks, behaviourKeys, linkIdOf, suspectedGroupId, BehaviourLinkNotFoundError, type BehaviourDecision, type BehaviourEvidence, type BehaviourLink, type BehaviourLinkStatus, type BehaviourLinks, type SuspectedGroup } from './behaviour-links.js';
