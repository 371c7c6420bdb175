import { evaluateThresholdRule, type PolicyPack } from '@flopwatch/policy';
import { teraToOps } from '@flopwatch/store';
import { fmtOps, pct, type Candidate } from './candidate.js';
import { latestEnd, projectCrossing, riskiest, type State } from './state.js';

/**
 * Lineage rules on the cumulative count (own + ancestors, through declared and checkpoint-found
 * parents): frontier-approach; lineage-laundering when the ancestry crosses tenants or a link the
 * telemetry did not declare; structuring when several tenants feed it and none reached the level alone.
 */
export async function lineageCandidates(lineageId: string, state: State, pack: PolicyPack, nowMs: number): Promise<Candidate[]> {
  const l = await state.lineage(lineageId);
  const feeders = [...l.byTenant].filter(([, tera]) => tera > 0);
  if (feeders.length === 0) return [];
  const tenants = await Promise.all(feeders.map(([id]) => state.tenant(id)));
  if (!tenants.some((t) => (t.totals.ctl1_ops ?? 0) > 0)) return [];
  const worst = riskiest(tenants)!;
  // The worst tenant decides: one untrusted feeder makes the lineage a concern.
  const risk = { tier: Math.max(...tenants.map((t) => t.risk.tier)) as 1 | 2 | 3, trusted: tenants.every((t) => t.risk.trusted) };
  const perDay = (await Promise.all(feeders.map(([id]) => state.burnPerDay(id)))).reduce((a, b) => a + b, 0);
  const now = latestEnd(tenants, nowMs);
  const base = { scope: 'lineage', subject: lineageId, totalOperations: l.operations, risk, controlledTier1Exposure: true } as const;
  const out: Candidate[] = [];
  const push = (c: Omit<Candidate, 'kycTenant' | 'tenants' | 'projectedCrossingAt'>) =>
    out.push({ ...c, kycTenant: worst.id, tenants: new Map(feeders), projectedCrossingAt: projectCrossing(c.draft.threshold, l.operations, perDay, now) });
  const chain = l.ancestors.length > 0 ? `${lineageId} ← ${l.ancestors.map((a) => a.id).join(' ← ')}` : lineageId;

  for (const draft of evaluateThresholdRule({ ...base, rule: 'frontier-approach' }, pack)) {
    push({ draft, why: `lineage ${chain} has ${fmtOps(l.operations)} cumulative operations, ${pct(l.operations, draft.threshold)} of the ${fmtOps(draft.threshold)} frontier threshold` });
  }

  const ancestryTenants = new Set([...l.own.keys(), ...l.ancestors.flatMap((a) => a.tenants)]);
  const linkedCount = l.ancestors.length > 0 ? ancestryTenants.size : 1;
  for (const draft of evaluateThresholdRule({ ...base, rule: 'lineage-laundering', linkedCount, inferredLinks: l.inferred.length }, pack)) {
    const found = l.inferred.map((i) => `${i.lineageId} started from checkpoint ${i.checkpoint ?? '?'} written by ${i.parentId} (read by tenant ${i.tenantId})`);
    push({ draft, why: `lineage ${chain} continues training across ${ancestryTenants.size} tenant(s) [${[...ancestryTenants].sort().join(', ')}]${found.length ? `; ${found.join('; ')}` : ''}; cumulative ${fmtOps(l.operations)} operations, ${pct(l.operations, draft.threshold)} of ${fmtOps(draft.threshold)}` });
  }

  // "One lineage fed by several tenants": its own operations, split so that no feeder reached the level.
  const own = [...l.own].filter(([, tera]) => tera > 0);
  const ownOps = teraToOps(own.reduce((a, [, tera]) => a + tera, 0));
  const largest = Math.max(0, ...own.map(([, tera]) => teraToOps(tera)));
  for (const draft of evaluateThresholdRule({ ...base, rule: 'structuring', totalOperations: ownOps, linkedCount: own.length, largestMemberOperations: largest }, pack)) {
    out.push({ draft: { ...draft, observedOperations: ownOps }, kycTenant: worst.id, tenants: new Map(own), projectedCrossingAt: projectCrossing(draft.threshold, ownOps, perDay, now),
      why: `lineage ${lineageId} is fed by ${own.length} tenants [${own.map(([t]) => t).sort().join(', ')}]; together ${fmtOps(ownOps)} operations (${pct(ownOps, draft.threshold)} of ${fmtOps(draft.threshold)}) while the largest alone put in ${pct(largest, draft.threshold)}` });
  }
  return out;
}
