import { z } from 'zod';

/** Every rule that can raise an alert; the policy pack has one entry per name. */
export const ALERT_RULES = [
  'frontier-approach',
  'tenant-approach',
  'structuring',
  'lineage-laundering',
  'velocity',
  'large-untrusted-cluster',
  'unverified-at-scale',
  'parent-in-tier3',
  'region-hopping',
  'disputed-usage',
] as const;
export const alertRuleSchema = z.enum(ALERT_RULES);
export type AlertRule = z.infer<typeof alertRuleSchema>;

/** What an alert is about: a model lineage, a tenant, or a group of linked tenants. */
export const alertScopeSchema = z.enum(['lineage', 'tenant', 'group']);
export type AlertScope = z.infer<typeof alertScopeSchema>;

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export const severitySchema = z.enum(SEVERITIES);
export type Severity = z.infer<typeof severitySchema>;
