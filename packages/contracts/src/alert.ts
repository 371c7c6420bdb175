import { createHash } from 'node:crypto';
import { z } from 'zod';
import { countryCodeSchema, idSchema, timestampSchema } from './ids.js';
import { kycStatusSchema } from './tenant.js';
import { alertRuleSchema, alertScopeSchema, severitySchema, type AlertRule, type AlertScope } from './alert-rule.js';
import { caseHistoryEntrySchema, caseStatusSchema } from './alert-case.js';

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

/** What an analyst needs to check the alert without querying: the largest jobs and contributing tenants. */
export const evidenceSchema = z.object({
  topJobs: z.array(z.object({ tenantId: idSchema, jobId: idSchema, operations: operationsSchema })).max(100),
  contributingTenants: z.array(z.object({ tenantId: idSchema, operations: operationsSchema })).max(1000),
});

/** One crossing of one level of one rule for one subject, with its case. */
export const alertSchema = z.object({
  id: z.string().regex(/^al_[0-9a-f]{24}$/),
  rule: alertRuleSchema,
  scope: alertScopeSchema,
  subject: idSchema,
  level: z.number().positive().max(100),
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
