import { createHash } from 'node:crypto';
import { z } from 'zod';
import { countryCodeSchema, idSchema, timestampSchema } from './ids.js';
import { kycStatusSchema } from './tenant.js';
import { alertRuleSchema, alertScopeSchema, severitySchema, type AlertRule, type AlertScope } from './alert-rule.js';
import { caseHistoryEntrySchema, caseStatusSchema } from './alert-case.js';
import { MEASURES } from './snapshot.js';

const tierSchema = z.union([z.literal(1), z.literal(2), z.literal(3)]);
const operationsSchema = z.number().min(0).max(1e30);

/** The tenant's KYC as it stood when the alert was raised (null for scopes without one tenant). */
export const kycSnapshotSchema = z.object({
  tenantId: idSchema,
  hqCountry: countryCodeSchema.nullable(),
  ownerCountries: z.array(countryCodeSchema),
  tier: tierSchema,
  kycStatus: kycStatusSchema,
  trusted: z.boolean(),
  reasons: z.array(z.string().max(1000)),
});

/** Where the operations ran. */
export const hardwareContextSchema = z.object({
  countries: z.array(countryCodeSchema),
  tiers: z.array(tierSchema),
  models: z.array(z.string().min(1).max(128)),
});

const splitMapSchema = z.record(z.string().max(16), operationsSchema);

/**
 * The quantity a rule measured (named in the policy pack: `controlledTier1`, `controlled` or `all`) and
 * the split beside it, so an analyst sees why it fired: operations by measure, by hardware tier and by
 * country (for a tenant, all time; for a group, its members' sum; for a lineage, own + ancestors).
 */
export const measuredSchema = z.object({
  name: z.enum(MEASURES),
  operations: operationsSchema,
  split: z.object({
    all: operationsSchema,
    controlled: operationsSchema,
    controlledTier1: operationsSchema,
    byTier: splitMapSchema,
    byCountry: splitMapSchema,
  }),
});

/** What an analyst needs to check the alert without querying: the largest jobs and contributing tenants. */
export const evidenceSchema = z.object({
  topJobs: z.array(z.object({ tenantId: idSchema, jobId: idSchema, operations: operationsSchema })).max(100),
  contributingTenants: z.array(z.object({ tenantId: idSchema, operations: operationsSchema })).max(1000),
  /** Since schema version 2. */
  measure: measuredSchema.optional(),
});

/**
 * What an alert's `level` means (since schema version 2): threshold rules keep a fraction of
 * `threshold`; banded rules (`velocity`) a band index with its `withinDays`; limit rules
 * (`large-untrusted-cluster`, `unverified-at-scale`, `parent-in-tier3`, `region-hopping`) the observed figure against
 * its limit (`level` is 1).
 */
export const levelBasisSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fraction'), fraction: z.number().positive().max(100) }),
  z.object({ kind: z.literal('band'), band: z.number().int().positive().max(100), withinDays: z.number().positive(), daysToCross: z.number().min(0) }),
  z.object({ kind: z.literal('limit'), quantity: z.enum(['operations', 'h100e']), observed: z.number().min(0).max(1e30), limit: z.number().positive().max(1e30) }),
]);
export type LevelBasis = z.infer<typeof levelBasisSchema>;

/** The alert contract's version: 2 adds `levelBasis` and `evidence.measure`; alerts without `schemaVersion` are version 1. */
export const ALERT_SCHEMA_VERSION = 2;

/** One crossing of one level of one rule for one subject, with its case. */
export const alertSchema = z.object({
  id: z.string().regex(/^al_[0-9a-f]{24}$/),
  schemaVersion: z.number().int().min(1).max(ALERT_SCHEMA_VERSION).optional(),
  rule: alertRuleSchema,
  scope: alertScopeSchema,
  subject: idSchema,
  level: z.number().positive().max(100),
  levelBasis: levelBasisSchema.optional(),
  threshold: z.number().positive().max(1e30),
  observedOperations: operationsSchema,
  projectedCrossingAt: timestampSchema.nullable(),
  severity: severitySchema,
  kyc: kycSnapshotSchema.nullable(),
  hardware: hardwareContextSchema,
  evidence: evidenceSchema,
  policyVersion: z.string().min(1).max(128),
  raisedAt: timestampSchema,
  status: caseStatusSchema,
  history: z.array(caseHistoryEntrySchema),
});
export type Alert = z.infer<typeof alertSchema>;

/** Deterministic alert id, so raising the same crossing twice names the same alert. */
export function alertId(key: { rule: AlertRule; scope: AlertScope; subject: string; level: number }): string {
  // JSON of a fixed-order array: unambiguous whatever characters the subject holds.
  const canonical = JSON.stringify([key.rule, key.scope, key.subject, key.level]);
  return `al_${createHash('sha256').update(canonical).digest('hex').slice(0, 24)}`;
}

/**
 * Deterministic case id: one case per subject under one rule (rule + scope + subject), whatever the
 * level; each new level is an escalation inside the same case. The console opens a case at
 * `/console/#/cases/<caseId>`.
 */
export function caseId(key: { rule: AlertRule; scope: AlertScope; subject: string }): string {
  const canonical = JSON.stringify([key.rule, key.scope, key.subject]);
  return `cs_${createHash('sha256').update(canonical).digest('hex').slice(0, 24)}`;
}

type Summarized = Pick<Alert, 'rule' | 'scope' | 'subject' | 'level' | 'threshold' | 'observedOperations'> & { levelBasis?: LevelBasis | undefined };

/** Whether the alert's level is a fraction of an operations threshold (v1 alerts: every rule but velocity and large-untrusted-cluster). */
export function isThresholdFraction(a: Summarized): boolean {
  if (a.levelBasis) return a.levelBasis.kind === 'fraction';
  return !['velocity', 'large-untrusted-cluster', 'unverified-at-scale', 'parent-in-tier3', 'region-hopping'].includes(a.rule);
}

/** One line saying what an alert's level means, for Alertmanager summaries and dashboards. */
export function describeLevel(a: Summarized): string {
  const e = (n: number) => n.toExponential(2);
  const b = a.levelBasis;
  if (b?.kind === 'band') return `${a.scope} ${a.subject} projected to reach ${e(a.threshold)} operations in ${b.daysToCross.toFixed(1)} days (band ${b.band}: within ${b.withinDays} days) (${a.rule})`;
  if (b?.kind === 'limit') return b.quantity === 'h100e'
    ? `${a.scope} ${a.subject} holds ${Math.round(b.observed)} H100-equivalents, over the limit of ${b.limit} (${a.rule})`
    : `${a.scope} ${a.subject} ran ${e(b.observed)} operations, past the limit of ${e(b.limit)} (${a.rule})`;
  if (!b && a.rule === 'velocity') return `${a.scope} ${a.subject} projected to reach ${e(a.threshold)} operations (velocity band ${a.level}) (${a.rule})`;
  if (!b && a.rule === 'large-untrusted-cluster') return `${a.scope} ${a.subject} holds more than ${a.threshold} H100-equivalents (${a.rule})`;
  return `${a.scope} ${a.subject} reached ${Math.round(a.level * 100)}% of ${e(a.threshold)} operations (${a.rule})`;
}
