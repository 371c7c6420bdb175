// The loophole group as the console's browser test sees it: the shipped scenario's 16 shell
// accounts registered through the API, 60 days of their usage in the books, and the structuring
// alerts of the group raised through the store's raise path (as the ingest raises them) at the
// days the test's own running total crosses each level; plus a few other cases around it.
import { alertId, type Alert } from '@flopwatch/contracts';
import type { PolicyPack } from '@flopwatch/policy';
import { apiRegistrar, loadScenario, planScenario, registerAll } from '@flopwatch/simulator';
import type { Store, UsageRecord } from '@flopwatch/store';
import { raiseAlert } from './helpers.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Tera-operations each shell adds per day: 16 × 60 × 9.5e22 = 9.12e25 operations in all. */
export const TERA_PER_TENANT_DAY = 95_000_000_000;
export const DAYS = 60;

export interface Loophole {
  groupId: string;
  shells: string[];
  /** Cumulative operations of the group at the end of each day (the test's own arithmetic). */
  cumulative: number[];
  structuring: Alert[];
  /** Cases besides the structuring one. */
  otherCases: number;
}

export async function seedLoophole(store: Store, pack: PolicyPack, api: { url: string; adminKey: string }, nowMs: number): Promise<Loophole> {
  const plan = planScenario(loadScenario('loophole'), new Date(nowMs));
  await registerAll(apiRegistrar({ url: api.url, apiKey: api.adminKey }), { tenants: plan.tenants, lineages: [] });
  const shells = plan.tenants.map((t) => t.id);
  const groupId = (await store.registry.groupOf(shells[0]!))!;

  const firstDay = Math.floor(nowMs / DAY) - DAYS;
  let offset = 0;
  const records: UsageRecord[] = [];
  for (let d = 0; d < DAYS; d++) {
    for (const [i, tenantId] of shells.entries()) {
      const endMs = (firstDay + d) * DAY + 12 * HOUR;
      records.push({
        offset: String(offset++), tenantId, jobKey: `us-east-h100/aurora-${i}`, node: null, startMs: endMs - HOUR, endMs,
        teraOpsPerMs: TERA_PER_TENANT_DAY / HOUR, upperTeraOpsPerMs: (2.5 * TERA_PER_TENANT_DAY) / HOUR, milliGpus: 1_600_000,
        lineageId: null, country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, h100e: 1600,
      });
    }
  }
  await store.accounting.applyBatch(records);

  const perDay = shells.length * TERA_PER_TENANT_DAY * 1e12;
  const cumulative = Array.from({ length: DAYS }, (_, d) => (d + 1) * perDay);
  const threshold = pack.thresholds.tenant.operations;
  const structuring: Alert[] = [];
  for (const level of pack.levels) {
    const d = cumulative.findIndex((c) => c >= level.fraction * threshold);
    if (d < 0) continue;
    const raisedAtMs = (firstDay + d) * DAY + 13 * HOUR;
    const observed = cumulative[d]!;
    const projected = raisedAtMs + ((threshold - observed) / perDay) * DAY;
    structuring.push(await raiseAlert(store, {
      id: alertId({ rule: 'structuring', scope: 'group', subject: groupId, level: level.fraction }),
      rule: 'structuring', scope: 'group', subject: groupId, level: level.fraction, severity: level.severity, threshold,
      observedOperations: observed, projectedCrossingAt: new Date(projected).toISOString(), kyc: null, raisedAt: new Date(raisedAtMs).toISOString(),
      hardware: { countries: ['US'], tiers: [1], models: ['nvidia-h100-sxm5-80gb'] },
      evidence: {
        topJobs: shells.slice(0, 5).map((t, i) => ({ tenantId: t, jobId: `us-east-h100/aurora-${i}`, operations: observed / shells.length })),
        contributingTenants: shells.map((t) => ({ tenantId: t, operations: observed / shells.length })),
      },
      history: [{ at: new Date(raisedAtMs).toISOString(), action: 'raise', from: null, to: 'open', actor: 'flopwatch-ingest' }],
    }));
  }

  // Other cases in the queue: lower severities.
  const recent = new Date(nowMs - 2 * HOUR).toISOString();
  await raiseAlert(store, { subject: 'bg-lab-07', level: 0.25, severity: 'low', observedOperations: 2.6e25, raisedAt: recent });
  await raiseAlert(store, { rule: 'unverified-at-scale', subject: 'bg-lab-11', level: 1, severity: 'medium', threshold: 1e23, observedOperations: 1.4e23, raisedAt: recent });
  return { groupId, shells, cumulative, structuring, otherCases: 2 };
}
