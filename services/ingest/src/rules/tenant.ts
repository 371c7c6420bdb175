import { evaluateLargeCluster, evaluateThresholdRule, evaluateVelocity, type PolicyPack } from '@flopwatch/policy';
import { teraToOps, type Store } from '@flopwatch/store';
import { fmtOps, pct, type Candidate } from './candidate.js';
import { latestEnd, projectCrossing, type State } from './state.js';

/**
 * Tenant rules: tenant-approach (trailing window), unverified-at-scale and parent-in-tier3 (controlled
 * Tier 1 operations), velocity (burn rate → projected crossing) and large-untrusted-cluster (H100e held).
 */
export async function tenantCandidates(tenantId: string, state: State, store: Store, pack: PolicyPack, nowMs: number): Promise<Candidate[]> {
  const t = await state.tenant(tenantId);
  const ctl1 = teraToOps(t.totals.ctl1_ops ?? 0);
  if (ctl1 <= 0) return [];
  const r365 = teraToOps(t.totals.r365 ?? 0);
  const perDay = await state.burnPerDay(tenantId);
  const now = latestEnd([t], nowMs);
  const self = new Map([[tenantId, t.totals.ops ?? 0]]);
  const base = { scope: 'tenant', subject: tenantId, risk: t.risk, controlledTier1Exposure: true } as const;
  const out: Candidate[] = [];
  const push = (c: Omit<Candidate, 'kycTenant' | 'tenants'>) => out.push({ ...c, kycTenant: tenantId, tenants: self });

  for (const draft of evaluateThresholdRule({ ...base, rule: 'tenant-approach', totalOperations: r365 }, pack)) {
    push({ draft, projectedCrossingAt: projectCrossing(draft.threshold, r365, perDay, now),
      why: `tenant ${tenantId} ran ${fmtOps(r365)} operations in the trailing ${pack.thresholds.tenant.windowDays} days, ${pct(r365, draft.threshold)} of ${fmtOps(draft.threshold)}, whatever lineage names it used` });
  }
  for (const draft of evaluateThresholdRule({ ...base, rule: 'unverified-at-scale', totalOperations: ctl1 }, pack)) {
    push({ draft, projectedCrossingAt: null,
      why: `tenant ${tenantId} has KYC status ${t.risk.kycStatus} and ran ${fmtOps(ctl1)} operations on controlled Tier 1 hardware, past ${fmtOps(draft.threshold)}: verification is overdue` });
  }
  for (const draft of evaluateThresholdRule({ ...base, rule: 'parent-in-tier3', totalOperations: ctl1 }, pack)) {
    push({ draft, projectedCrossingAt: null,
      why: `tenant ${tenantId} is owned or headquartered in Tier 3 (Red Flag 28) and ran ${fmtOps(ctl1)} operations on controlled Tier 1 hardware, past the ${fmtOps(draft.threshold)} floor` });
  }
  for (const v of evaluateVelocity({ ...base, totalOperations: r365, threshold: pack.thresholds.tenant.operations, operationsPerDay: perDay, nowMs: now }, pack)) {
    const { projectedCrossingAt, daysToCross, withinDays, ...draft } = v;
    push({ draft, projectedCrossingAt,
      why: `at ${fmtOps(perDay)} operations/day (trailing ${pack.rules.velocity.burnWindowDays} d), tenant ${tenantId} reaches ${fmtOps(v.threshold)} in ${daysToCross.toFixed(1)} days (within ${withinDays}), now at ${fmtOps(r365)}` });
  }
  const h100e = t.totals.h100e_active ?? 0;
  for (const c of evaluateLargeCluster({ tenantId, h100eActive: h100e, operations: ctl1, risk: t.risk }, pack)) {
    const { h100eActive, ...draft } = c;
    push({ draft, projectedCrossingAt: null, jobs: await heldJobs(store, tenantId),
      why: `untrusted tenant ${tenantId} holds ${Math.round(h100eActive)} H100-equivalents at once on controlled Tier 1 hardware, more than ${draft.threshold}: a training cluster` });
  }
  return out;
}

/** The tenant's jobs currently holding hardware, largest allocation first. */
async function heldJobs(store: Store, tenantId: string): Promise<{ tenantId: string; jobId: string; teraOps: number }[]> {
  const held = await store.accounting.heldJobs(tenantId, 10);
  return held.map((j) => ({ tenantId, jobId: j.jobKey, teraOps: j.teraOps }));
}
