export { POLICY_ERROR_CODES, PolicyError, PolicyPackError, type PolicyErrorCode, type PackIssue } from './errors.js';
export { policyPackSchema, levelSchema, caseDueHoursSchema, type PolicyPack, type Level, type CaseDueHours } from './pack-schema.js';
export { caseDueAt } from './case-due.js';
export { DEFAULT_POLICY_PATH, loadPolicyPack, parsePolicyPack } from './load-pack.js';
export { countryTier, type Tier } from './tiers.js';
export { catalogOf } from './catalog-of.js';
export { checkInterval, unknownAccelerator, unknownCountry, validateUsage, type UsageRefusal, type UsageValidation } from './validate-usage.js';
export { estimateOperations, estimatedOps, upperBoundOps, type OperationsEstimate, type EstimateBasis } from './estimate.js';
export { tenantRisk, type TenantRisk } from './tenant-risk.js';
export { hardwareRisk, type HardwareRisk } from './hardware-risk.js';
export { levelOperations, levelsReached } from './levels.js';
export { maxSeverity } from './severity.js';
export { velocityBandSchema, type VelocityBand } from './pack-schema.js';
export { MEASURE_WORDS, burnPerDay, emptySplit, evaluationTime, measured, projectCrossing, sumSplits, trailingOperations } from './measure.js';
export {
  RULES,
  evaluateSubject,
  fmtOps,
  lineageCumulative,
  lineageFloorOps,
  ruleLevels,
  ruleStanding,
  tenantMayAlert,
  velocityBands,
  type AlertDraft,
  type PrefilterTotals,
  type RuleEntry,
  type RuleKind,
  type RuleOutcome,
} from './rules.js';
export { RULES_DOC_BEGIN, RULES_DOC_END, renderRulesTable, withRulesTable } from './rules-doc.js';
