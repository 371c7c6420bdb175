import type { Tenant } from '@flopwatch/contracts';
import { tenantRisk, type PolicyPack, type TenantRisk } from '@flopwatch/policy';
import { teraToOps, type Store } from '@flopwatch/store';
import type { RegistryView } from '../registry-view.js';

const DAY_MS = 86_400_000;

/** A tenant as the rules see it: KYC record, risk, and the accounting totals (tera-operations). */
export interface TenantState {
  id: string;
  record: Tenant | undefined;
  risk: TenantRisk;
  totals: Record<string, number>;
}

/** A lineage's cumulative operations (own + ancestors) and who fed them, tera-operations per tenant. */
export interface LineageState {
  id: string;
  operations: number;
  byTenant: Map<string, number>;
  /** Ancestors, nearest first. */
  ancestors: { id: string; tenants: string[] }[];
  /** Own contributions (this lineage only, not its ancestors'), tera-operations per tenant. */
  own: Map<string, number>;
  /** Links along [lineage, ...ancestors] found from checkpoints: child → parent. */
  inferred: { lineageId: string; parentId: string; checkpoint: string | undefined; tenantId: string }[];
}

/**
 * Memoised reads of the stored state one evaluation needs: each tenant, lineage and group is read
 * once however many rules and subjects ask for it.
 */
export function createState(store: Store, pack: PolicyPack, view: RegistryView) {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let p = memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      memo.set(key, p);
    }
    return p;
  };

  const tenant = (id: string) => once(`t:${id}`, async (): Promise<TenantState> => {
    const [{ record }, totals] = await Promise.all([view.tenant(id), store.accounting.tenantTotals(id)]);
    return { id, record: record ?? undefined, risk: tenantRisk(record ?? undefined, pack), totals };
  });

  /** Operations per day over the trailing burn window (velocity, projected crossings). */
  const burnPerDay = (id: string) => once(`b:${id}`, async (): Promise<number> => {
    const windowDays = pack.rules.velocity.burnWindowDays;
    const { totals } = await tenant(id);
    if (windowDays <= 1) return teraToOps(totals.r24 ?? 0);
    const days = await store.redis.hgetall(store.keys.tenant.days(id));
    const last = totals.max_day ?? 0;
    let sum = 0;
    for (const [idx, v] of Object.entries(days)) if (Number(idx) > last - windowDays && Number(idx) <= last) sum += Number(v);
    return teraToOps(sum) / windowDays;
  });

  const lineage = (id: string) => once(`l:${id}`, async (): Promise<LineageState> => {
    const c = await store.usage.lineageCumulative(id);
    const chain = [id, ...c.ancestors.map((a) => a.id)];
    const evidence = await Promise.all(chain.slice(0, -1).map(async (child, i) => [child, chain[i + 1]!, (await store.lineageLinks.links(child)).get(chain[i + 1]!)] as const));
    const inferred: LineageState['inferred'] = [];
    for (const [lineageId, parentId, e] of evidence) {
      if (e?.kind === 'checkpoint') inferred.push({ lineageId, parentId, checkpoint: e.checkpoint, tenantId: e.tenantId });
    }
    return { id, operations: c.operations, byTenant: c.byTenant, ancestors: c.ancestors, own: c.own, inferred };
  });

  const members = (groupId: string) => view.groupMembers(groupId);
  const groupOf = async (tenantId: string) => (await view.tenant(tenantId)).groupId;

  return { tenant, burnPerDay, lineage, members, groupOf };
}

export type State = ReturnType<typeof createState>;

const RISK_ORDER = (r: TenantRisk) => r.tier * 2 + (r.trusted ? 0 : 1);

/** The riskiest of several tenants (highest tier, untrusted before trusted): whose KYC an alert shows. */
export function riskiest(tenants: TenantState[]): TenantState | undefined {
  return [...tenants].sort((a, b) => RISK_ORDER(b.risk) - RISK_ORDER(a.risk) || a.id.localeCompare(b.id))[0];
}

/** Latest counted interval end over tenants: the event-time "now" projections start from. */
export function latestEnd(tenants: TenantState[], fallback: number): number {
  const ends = tenants.map((t) => t.totals.max_end ?? 0).filter((e) => e > 0);
  return ends.length > 0 ? Math.max(...ends) : fallback;
}

/** When a subject at `observed` burning `perDay` reaches `target`, or null. */
export function projectCrossing(target: number, observed: number, perDay: number, nowMs: number): string | null {
  const remaining = target - observed;
  return remaining > 0 && perDay > 0 ? new Date(nowMs + (remaining / perDay) * DAY_MS).toISOString() : null;
}
