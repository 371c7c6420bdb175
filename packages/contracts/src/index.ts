export { ContractError, CONTRACT_ERROR_CODES, type ContractErrorCode } from './errors.js';
export { idSchema, countryCodeSchema, timestampSchema } from './ids.js';
export { PRECISIONS, precisionSchema, type Precision } from './precision.js';
export { USAGE_EVENT_TYPE, usageDataSchema, usageEventSchema, type UsageData, type UsageEvent } from './usage-event.js';
export { DLQ_REASONS, describeZodError, type DlqReason } from './dlq.js';
export { slurmJobRecordSchema, gpusFromTres, type SlurmJobRecord } from './slurm-record.js';
export { expandHostlist, splitGpus, nodeShares, gpusOfGresEntry, MAX_HOSTLIST_NODES, type NodeShare } from './slurm-nodes.js';
export { slurmRecordToUsageEvents, slurmMappingSchema, type SlurmMapping, type SlurmMappingOptions } from './slurm-mapping.js';
export { KYC_STATUSES, kycStatusSchema, screeningMatchSchema, screeningResultSchema, tenantSchema, type KycStatus, type ScreeningMatch, type ScreeningResult, type Tenant } from './tenant.js';
export { lineageSchema, type Lineage } from './lineage.js';
export { ALERT_RULES, alertRuleSchema, alertScopeSchema, SEVERITIES, severitySchema, type AlertRule, type AlertScope, type Severity } from './alert-rule.js';
export {
  CASE_STATUSES,
  caseStatusSchema,
  TRANSITION_ACTIONS,
  transitionActionSchema,
  alertTransitionSchema,
  caseHistoryEntrySchema,
  applyTransition,
  type CaseStatus,
  type TransitionAction,
  type AlertTransition,
  type CaseHistoryEntry,
} from './alert-case.js';
export { alertSchema, kycSnapshotSchema, hardwareContextSchema, evidenceSchema, measuredSchema, levelBasisSchema, ALERT_SCHEMA_VERSION, describeLevel, isThresholdFraction, alertId, caseId, type Alert, type LevelBasis } from './alert.js';
export { webhookPayloadSchema, type WebhookPayload } from './webhook.js';
export { PUBLIC_CONTRACTS, contractJsonSchema, type PublicContractName } from './json-schemas.js';
export { CASE_EVENTS, MAX_CASE_COMMENTS, MAX_CASE_HISTORY, caseEventSchema, caseCommentSchema, caseAlertSchema, caseSchema, caseWithAlert, caseSummary, isClosed, withEvent, type Case, type CaseEvent, type CaseComment } from './case.js';
export { MEASURES, evaluationTime, type Measure, type HardwareSplit, type TenantBooks, type TenantSnapshot, type TenantConflicts, type ConflictEvidence, type LineageEdge, type LineageSnapshot, type SubjectSnapshot } from './snapshot.js';
export * from './behaviour.js';
