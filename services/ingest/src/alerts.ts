import type { Alert, Tenant } from '@flopwatch/contracts';
import { evaluateThresholdRule, tenantRisk, type AlertDraft, type PolicyPack, type TenantRisk, type ThresholdRuleInput } from '@flopwatch/policy';
import { teraToOps, type Store, type TenantApplyResult } from '@flopwatch/store';

/** Who raises alerts, as recorded in a case's history. */
const ACTOR = 'flopwatch-ingest';
const DAY_MS = 86_400_000;

export interface EvaluationContext {
  store: Store;
  pack: PolicyPack;
  /** Latest interval end per tenant in this batch: the event-time "now" for projections. */
  latestEndMs: Map<string, number>;
  now: () => Date;
}

interface Candidate {
  draft: AlertDraft;
  /** The tenant whose usage brought the subject here (KYC snapshot, evidence). */
  tenantId: string | null;
  /** Tera-operations per ms the subject is burning (trailing 24 h), for the projected crossing. */
  burnTeraPerMs: number;
  latestEndMs: number;
}

const untrusted = (r: TenantRisk) => !r.trusted || r.tier !== 1;

/**
 * Decides which alerts the batch's new totals call for and creates the missing ones. State-based:
 * every level a subject's total has reached should have its alert, so a retried batch, a replay or
 * a second ingest instance finds the same alerts and creates none twice (ids are deterministic and
 * creation is "only if absent").
 */
export async function raiseAlerts(results: TenantApplyResult[], ctx: EvaluationContext): Promise<Alert[]> {
  const { store, pack } = ctx;
  const tenantIds = results.map((r) => r.tenantId);
  const records = await store.registry.getTenants<Tenant>(tenantIds);
  const risks = new Map(tenantIds.map((id) => [id, tenantRisk(records.get(id) ?? undefined, pack)]));
  const candidates: Candidate[] = [];
  const lineages = new Map<string, string>(); // lineage → an untrusted tenant feeding it
  const groups = new Map<string, string>();

  for (const r of results) {
    const risk = risks.get(r.tenantId)!;
    if (r.totals.controlledTier1TeraOps <= 0) continue;
    const base = { risk, controlledTier1Exposure: true };
    const burn = r.totals.trailing24hTeraOps / DAY_MS;
    const latestEndMs = ctx.latestEndMs.get(r.tenantId) ?? ctx.now().getTime();
    const add = (input: ThresholdRuleInput, burnTeraPerMs = burn) => {
      for (const draft of evaluateThresholdRule(input, pack)) candidates.push({ draft, tenantId: r.tenantId, burnTeraPerMs, latestEndMs });
    };
    add({ ...base, rule: 'unverified-at-scale', scope: 'tenant', subject: r.tenantId, totalOperations: teraToOps(r.totals.controlledTier1TeraOps) }, 0);
    add({ ...base, rule: 'parent-in-tier3', scope: 'tenant', subject: r.tenantId, totalOperations: teraToOps(r.totals.controlledTier1TeraOps) }, 0);
    if (!untrusted(risk)) continue;
    add({ ...base, rule: 'tenant-approach', scope: 'tenant', subject: r.tenantId, totalOperations: teraToOps(r.totals.trailing365dTeraOps) });
    for (const lineageId of r.lineages.keys()) if (!lineages.has(lineageId)) lineages.set(lineageId, r.tenantId);
    const groupId = await store.registry.groupOf(r.tenantId);
    if (groupId && !groups.has(groupId)) groups.set(groupId, r.tenantId);
  }

  await Promise.all([
    ...[...lineages].map(async ([lineageId, tenantId]) => {
      const c = await store.usage.lineageCumulative(lineageId);
      const burn = (await sumTrailing24h(store, [...c.byTenant.keys()])) / DAY_MS;
      const risk = risks.get(tenantId)!;
      for (const draft of evaluateThresholdRule({ rule: 'frontier-approach', scope: 'lineage', subject: lineageId, totalOperations: c.operations, risk, controlledTier1Exposure: true }, pack)) {
        candidates.push({ draft, tenantId, burnTeraPerMs: burn, latestEndMs: ctx.latestEndMs.get(tenantId)! });
      }
    }),
    ...[...groups].map(async ([groupId, tenantId]) => {
      const members = await store.registry.groupMembers(groupId);
      if (members.length < 2) return;
      const r365 = await Promise.all(members.map((m) => store.redis.hget(store.keys.tenant.totals(m), 'r365')));
      const total = r365.reduce((sum, v) => sum + Number(v ?? 0), 0);
      const burn = (await sumTrailing24h(store, members)) / DAY_MS;
      const input = { rule: 'structuring', scope: 'group', subject: groupId, totalOperations: teraToOps(total), risk: risks.get(tenantId)!, controlledTier1Exposure: true, linkedCount: members.length } as const;
      for (const draft of evaluateThresholdRule(input, pack)) candidates.push({ draft, tenantId, burnTeraPerMs: burn, latestEndMs: ctx.latestEndMs.get(tenantId)! });
    }),
  ]);

  if (candidates.length === 0) return [];
  const existing = await store.alerts.existing(candidates.map((c) => c.draft.id));
  const fresh = candidates.filter((c, i) => !existing.has(c.draft.id) && candidates.findIndex((o) => o.draft.id === c.draft.id) === i);
  const raised: Alert[] = [];
  for (const c of fresh) {
    const alert = await buildAlert(c, ctx, records.get(c.tenantId ?? '') ?? undefined, c.tenantId ? risks.get(c.tenantId) : undefined);
    if (await store.alerts.raise(alert)) raised.push(alert);
  }
  return raised;
}

async function sumTrailing24h(store: Store, tenants: string[]): Promise<number> {
  const values = await Promise.all(tenants.map((t) => store.redis.hget(store.keys.tenant.totals(t), 'r24')));
  return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
}

async function buildAlert(c: Candidate, ctx: EvaluationContext, tenant: Tenant | undefined, risk: TenantRisk | undefined): Promise<Alert> {
  const { store, pack } = ctx;
  const { draft } = c;
  const remainingTera = (draft.threshold - draft.observedOperations) / 1e12;
  const projectedCrossingAt = remainingTera > 0 && c.burnTeraPerMs > 0 ? new Date(c.latestEndMs + remainingTera / c.burnTeraPerMs).toISOString() : null;
  const totals = c.tenantId ? await store.accounting.tenantTotals(c.tenantId) : {};
  const pick = (prefix: string) => Object.keys(totals).filter((f) => f.startsWith(prefix) && totals[f]! > 0).map((f) => f.slice(prefix.length)).sort();
  const topJobs = c.tenantId ? await store.accounting.topJobs(c.tenantId, 5) : [];
  const contributing = draft.scope === 'lineage' ? (await store.usage.lineageCumulative(draft.subject)).byTenant
    : draft.scope === 'group' ? new Map(await Promise.all((await store.registry.groupMembers(draft.subject)).map(async (m) => [m, Number((await store.redis.hget(store.keys.tenant.totals(m), 'r365')) ?? 0)] as const)))
    : new Map(c.tenantId ? [[c.tenantId, totals.ops ?? 0]] : []);
  const raisedAt = ctx.now().toISOString();
  return {
    ...draft,
    projectedCrossingAt,
    kyc: c.tenantId && risk ? {
      tenantId: c.tenantId,
      hqCountry: tenant?.hqCountry ?? null,
      ownerCountries: risk.ownerCountries,
      tier: risk.tier,
      kycStatus: risk.kycStatus,
      trusted: risk.trusted,
      reasons: risk.reasons,
    } : null,
    hardware: {
      countries: pick('ops:country:'),
      tiers: pick('ops:tier:').map(Number).filter((t): t is 1 | 2 | 3 => t === 1 || t === 2 || t === 3),
      models: pick('ops:model:'),
    },
    evidence: {
      topJobs: topJobs.map((j) => ({ tenantId: c.tenantId!, jobId: j.jobKey, operations: teraToOps(j.teraOps) })),
      contributingTenants: [...contributing].sort((a, b) => b[1] - a[1]).slice(0, 1000).map(([tenantId, tera]) => ({ tenantId, operations: teraToOps(tera) })),
    },
    policyVersion: pack.version,
    raisedAt,
    status: 'open',
    history: [{ at: raisedAt, action: 'raise', from: null, to: 'open', actor: ACTOR }],
  };
}
