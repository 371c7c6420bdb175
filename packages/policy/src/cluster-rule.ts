import { alertId, type Severity } from '@flopwatch/contracts';
import type { PolicyPack } from './pack-schema.js';
import type { TenantRisk } from './tenant-risk.js';

/** What a tenant holds at once on controlled Tier 1 hardware. */
export interface ClusterInput {
  tenantId: string;
  /** H100-equivalents held by the tenant's recently active jobs on controlled Tier 1 hardware. */
  h100eActive: number;
  /** The tenant's operations on controlled Tier 1 hardware (reported as observedOperations). */
  operations: number;
  risk: Pick<TenantRisk, 'tier' | 'trusted'>;
}

/** A large-untrusted-cluster alert to create; `threshold` is maxH100e (H100-equivalents, not operations). */
export interface ClusterDraft {
  id: string;
  rule: 'large-untrusted-cluster';
  scope: 'tenant';
  subject: string;
  level: 1;
  threshold: number;
  severity: Severity;
  observedOperations: number;
  h100eActive: number;
}

/** An untrusted tenant holding more than maxH100e at once: one single-level alert. */
export function evaluateLargeCluster(input: ClusterInput, pack: PolicyPack): ClusterDraft[] {
  const rule = pack.rules['large-untrusted-cluster'];
  const untrusted = input.risk.tier !== 1 || !input.risk.trusted;
  if (!rule.enabled || !untrusted || !(input.h100eActive > rule.maxH100e)) return [];
  return [{
    id: alertId({ rule: 'large-untrusted-cluster', scope: 'tenant', subject: input.tenantId, level: 1 }),
    rule: 'large-untrusted-cluster',
    scope: 'tenant',
    subject: input.tenantId,
    level: 1,
    threshold: rule.maxH100e,
    severity: rule.severity,
    observedOperations: input.operations,
    h100eActive: input.h100eActive,
  }];
}
