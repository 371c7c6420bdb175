import { evaluateThresholdRule, evaluateVelocity, type PolicyPack } from '@flopwatch/policy';
import { teraToOps } from '@flopwatch/store';
import { fmtOps, pct, type Candidate } from './candidate.js';
import { latestEnd, projectCrossing, riskiest, type State } from './state.js';

/**
 * Group rules over tenants linked by shared identifiers (a group's total is the sum of its members',
 * so a link found later pulls their past usage in): structuring — the group crosses a level that no
 * member reached alone — and velocity on the group's combined burn rate.
 */
export async function groupCandidates(groupId: string, state: State, pack: PolicyPack, nowMs: number): Promise<Candidate[]> {
  const ids = await state.members(groupId);
  if (ids.length < 2) return [];
  const members = await Promise.all(ids.map((id) => state.tenant(id)));
  if (!members.some((m) => (m.totals.ctl1_ops ?? 0) > 0)) return [];
  const worst = riskiest(members)!;
  const risk = { tier: Math.max(...members.map((m) => m.risk.tier)) as 1 | 2 | 3, trusted: members.every((m) => m.risk.trusted) };
  const r365 = members.map((m) => teraToOps(m.totals.r365 ?? 0));
  const total = r365.reduce((a, b) => a + b, 0);
  const largest = Math.max(...r365);
  const perDay = (await Promise.all(ids.map((id) => state.burnPerDay(id)))).reduce((a, b) => a + b, 0);
  const now = latestEnd(members, nowMs);
  const tenants = new Map(members.map((m) => [m.id, m.totals.r365 ?? 0]));
  const countries = [...new Set(members.flatMap((m) => Object.keys(m.totals).filter((f) => f.startsWith('ops:country:') && m.totals[f]! > 0).map((f) => f.slice(12))))].sort();
  const base = { scope: 'group', subject: groupId, risk, controlledTier1Exposure: true } as const;
  const out: Candidate[] = [];

  for (const draft of evaluateThresholdRule({ ...base, rule: 'structuring', totalOperations: total, linkedCount: ids.length, largestMemberOperations: largest }, pack)) {
    out.push({ draft, kycTenant: worst.id, tenants, projectedCrossingAt: projectCrossing(draft.threshold, total, perDay, now),
      why: `${ids.length} linked tenants [${ids.join(', ')}] ran ${fmtOps(total)} operations together in the trailing ${pack.thresholds.tenant.windowDays} days across ${countries.join(', ')} (${pct(total, draft.threshold)} of ${fmtOps(draft.threshold)}) while the largest alone ran ${pct(largest, draft.threshold)}: one run split across accounts` });
  }
  for (const v of evaluateVelocity({ ...base, totalOperations: total, threshold: pack.thresholds.tenant.operations, operationsPerDay: perDay, nowMs: now }, pack)) {
    const { projectedCrossingAt, daysToCross, withinDays, ...draft } = v;
    out.push({ draft, kycTenant: worst.id, tenants, projectedCrossingAt,
      why: `at ${fmtOps(perDay)} operations/day combined, ${ids.length} linked tenants [${ids.join(', ')}] reach ${fmtOps(v.threshold)} in ${daysToCross.toFixed(1)} days (within ${withinDays}), now at ${fmtOps(total)}` });
  }
  return out;
}
