import type { Level, PolicyPack, TenantRisk } from '@flopwatch/policy';
import { teraToOps, type TenantTotals } from '@flopwatch/store';

// Cheap tests, from the totals the apply script returns and the cached KYC, of whether a subject
// could call for any alert. They over-approximate each rule's trigger (they may let through a
// subject that raises nothing, never hold back one that would), so the full evaluation — which
// reads more state — runs only for subjects near a threshold. The steady stream of small tenants
// then costs no reads beyond the apply itself.

const lowest = (levels: readonly Level[]) => Math.min(...levels.map((l) => l.fraction));
const untrusted = (r: Pick<TenantRisk, 'tier' | 'trusted'>) => r.tier !== 1 || !r.trusted;

/** Whether any tenant rule could fire for a tenant with these totals and this risk. */
export function tenantMayAlert(t: TenantTotals, risk: Pick<TenantRisk, 'tier' | 'trusted'>, pack: PolicyPack): boolean {
  const { rules, thresholds } = pack;
  const ctl1 = teraToOps(t.controlledTier1TeraOps);
  if (ctl1 <= 0) return false;
  const r365 = teraToOps(t.trailing365dTeraOps);
  if (rules['tenant-approach'].enabled && untrusted(risk) && r365 >= thresholds.tenant.operations * lowest(rules['tenant-approach'].levels ?? pack.levels)) return true;
  if (rules['unverified-at-scale'].enabled && !risk.trusted && ctl1 >= rules['unverified-at-scale'].operations) return true;
  if (rules['parent-in-tier3'].enabled && risk.tier === 3 && ctl1 >= rules['parent-in-tier3'].minOperations) return true;
  if (rules['large-untrusted-cluster'].enabled && untrusted(risk) && t.h100eActive > rules['large-untrusted-cluster'].maxH100e) return true;
  if (rules.velocity.enabled && untrusted(risk)) {
    // A burn window longer than the trailing day is not in the returned totals: evaluate.
    if (rules.velocity.burnWindowDays > 1) return true;
    const perDay = teraToOps(t.trailing24hTeraOps);
    if (perDay * rules.velocity.horizonDays >= thresholds.tenant.operations - r365) return true;
  }
  return false;
}

/** The fewest cumulative operations at which any lineage rule can fire. */
export function lineageFloorOps(pack: PolicyPack): number {
  const { rules, thresholds } = pack;
  const floors = [
    rules['frontier-approach'].enabled ? thresholds.frontier.operations * lowest(rules['frontier-approach'].levels ?? pack.levels) : Infinity,
    rules['lineage-laundering'].enabled ? thresholds.frontier.operations * lowest(rules['lineage-laundering'].levels ?? pack.levels) : Infinity,
    rules.structuring.enabled ? thresholds.tenant.operations * lowest(rules.structuring.levels ?? pack.levels) : Infinity,
  ];
  return Math.min(...floors);
}
