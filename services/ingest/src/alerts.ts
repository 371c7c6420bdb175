import { alertId, type Alert, type AlertRule } from '@flopwatch/contracts';
import { maxSeverity, tenantRisk, velocityBands, type PolicyPack } from '@flopwatch/policy';
import { teraToOps, type Store, type TenantApplyResult } from '@flopwatch/store';
import type { RegistryView } from './registry-view.js';
import type { Candidate } from './rules/candidate.js';
import { groupCandidates } from './rules/group.js';
import { lineageCandidates } from './rules/lineage.js';
import { lineageFloorOps, tenantMayAlert } from './rules/prefilter.js';
import { createState, type State } from './rules/state.js';
import { tenantCandidates } from './rules/tenant.js';

/** Who raises alerts, as recorded in a case's history. */
const ACTOR = 'flopwatch-ingest';

export interface EvaluationContext {
  store: Store;
  pack: PolicyPack;
  /** The KYC registry, cached per version; the caller refreshes it before each evaluation. */
  view: RegistryView;
  now: () => Date;
}

/** What to evaluate: tenants (with their groups), lineages and groups. */
export interface Subjects {
  tenants?: Iterable<string>;
  lineages?: Iterable<string>;
  groups?: Iterable<string>;
}

/**
 * Alerts the batch's new totals call for: the touched tenants, their groups, their lineages, their
 * descendants and any lineage linked now. Subjects nowhere near a threshold are passed over using the
 * totals the apply returned (see rules/prefilter.ts); the rest are evaluated in full.
 */
export async function raiseAlerts(results: TenantApplyResult[], ctx: EvaluationContext, linkedLineages: Iterable<string> = []): Promise<Alert[]> {
  const { pack, view } = ctx;
  const floor = lineageFloorOps(pack);
  const tenants: string[] = [];
  const groups = new Set<string>();
  const lineages = new Set(linkedLineages);
  await Promise.all(results.map(async (r) => {
    const { record, groupId } = await view.tenant(r.tenantId);
    if (tenantMayAlert(r.totals, tenantRisk(record ?? undefined, pack), pack)) tenants.push(r.tenantId);
    if (groupId && r.totals.controlledTier1TeraOps > 0 && (await view.groupMembers(groupId)).length > 1) groups.add(groupId);
    for (const [lineageId, bound] of r.lineageUpperBounds) {
      const record = await view.lineage(lineageId);
      const base = record?.baseModel && !record.baseModel.publishedWeights ? (record.baseModel.pretrainingOperations ?? 0) : 0;
      // Without ancestors, the cumulative count is at most the own upper bound plus a base model's.
      if (record?.parentId || teraToOps(bound) + base >= floor) lineages.add(lineageId);
    }
  }));
  // Descendants include every lineage above the touched ones, whatever their own size: their
  // cumulative counts grew with their ancestors'.
  const touched = results.flatMap((r) => [...r.lineages.keys()]);
  const descendants = await view.descendants(touched);
  return evaluateSubjects({ tenants, groups, lineages: [...lineages, ...descendants] }, ctx);
}

/**
 * Decides which alerts the subjects' stored state calls for and creates the missing ones.
 * State-based: every level a subject has reached should have its alert, so a retried batch, a
 * replay, a registry change or a second ingest instance finds the same alerts and creates none
 * twice (ids are deterministic, creation is "only if absent"). An alert an analyst closed —
 * false_positive included — therefore stays closed; only a higher level makes a new one.
 */
export async function evaluateSubjects(subjects: Subjects, ctx: EvaluationContext): Promise<Alert[]> {
  const { store, pack } = ctx;
  const state = createState(store, pack, ctx.view);
  const nowMs = ctx.now().getTime();
  const tenants = new Set(subjects.tenants ?? []);
  const groups = new Set(subjects.groups ?? []);
  for (const g of await Promise.all([...tenants].map((t) => state.groupOf(t)))) if (g) groups.add(g);

  const candidates = (await Promise.all([
    ...[...tenants].map((t) => tenantCandidates(t, state, store, pack, nowMs)),
    ...[...new Set(subjects.lineages ?? [])].map((l) => lineageCandidates(l, state, pack, nowMs)),
    ...[...groups].map((g) => groupCandidates(g, state, pack, nowMs)),
  ])).flat();
  if (candidates.length === 0) return [];

  const unique = [...new Map(candidates.map((c) => [c.draft.id, c])).values()];
  const existing = await store.alerts.existing(unique.map((c) => c.draft.id));
  const raised: Alert[] = [];
  for (const c of unique.filter((u) => !existing.has(u.draft.id))) {
    const alert = await buildAlert(await neverLower(c, ctx), state, ctx);
    if (await store.alerts.raise(alert)) raised.push(alert);
  }
  return raised;
}

/** Levels of a rule as configured, in order (velocity: band ordinals; single-step rules: 1). */
function ruleLevels(rule: AlertRule, pack: PolicyPack): number[] {
  const { rules } = pack;
  switch (rule) {
    case 'frontier-approach':
    case 'tenant-approach':
    case 'structuring':
    case 'lineage-laundering':
      return (rules[rule].levels ?? pack.levels).map((l) => l.fraction);
    case 'velocity':
      return velocityBands(pack).map((_, i) => i + 1);
    default:
      return [1];
  }
}

/**
 * Severity may rise, never silently fall: a new level of a subject's rule carries at least the
 * severity of the lower levels already raised (whatever their case status), e.g. after a policy
 * change lowered a level's severity.
 */
async function neverLower(c: Candidate, ctx: EvaluationContext): Promise<Candidate> {
  const { draft } = c;
  const lower = ruleLevels(draft.rule, ctx.pack).filter((l) => l < draft.level)
    .map((level) => alertId({ rule: draft.rule, scope: draft.scope, subject: draft.subject, level }));
  const prior = await Promise.all(lower.map((id) => ctx.store.alerts.get<Alert>(id)));
  const severity = prior.reduce((s, a) => (a ? maxSeverity(s, a.severity) : s), draft.severity);
  return severity === draft.severity ? c : { ...c, draft: { ...draft, severity } };
}

async function topJobs(c: Candidate, store: Store): Promise<Alert['evidence']['topJobs']> {
  if (c.jobs) return c.jobs.map((j) => ({ tenantId: j.tenantId, jobId: j.jobId, operations: teraToOps(j.teraOps) }));
  const tenants = [...c.tenants.keys()].slice(0, 20);
  const perTenant = await Promise.all(tenants.map(async (t) => (await store.accounting.topJobs(t, 5)).map((j) => ({ tenantId: t, jobId: j.jobKey, operations: teraToOps(j.teraOps) }))));
  return perTenant.flat().sort((a, b) => b.operations - a.operations).slice(0, 10);
}

async function buildAlert(c: Candidate, state: State, ctx: EvaluationContext): Promise<Alert> {
  const { store, pack } = ctx;
  const { draft } = c;
  const kycTenant = await state.tenant(c.kycTenant);
  const involved = await Promise.all([...c.tenants.keys()].map((t) => state.tenant(t)));
  const pick = (prefix: string) => [...new Set(involved.flatMap((t) => Object.keys(t.totals).filter((f) => f.startsWith(prefix) && t.totals[f]! > 0).map((f) => f.slice(prefix.length))))].sort();
  const raisedAt = ctx.now().toISOString();
  const { risk } = kycTenant;
  return {
    ...draft,
    projectedCrossingAt: c.projectedCrossingAt,
    kyc: {
      tenantId: kycTenant.id,
      hqCountry: kycTenant.record?.hqCountry ?? null,
      ownerCountries: risk.ownerCountries,
      tier: risk.tier,
      kycStatus: risk.kycStatus,
      trusted: risk.trusted,
      // The rule's own explanation first, then why the tenant is not trusted.
      reasons: [c.why.slice(0, 1000), ...risk.reasons],
    },
    hardware: {
      countries: pick('ops:country:'),
      tiers: pick('ops:tier:').map(Number).filter((t): t is 1 | 2 | 3 => t === 1 || t === 2 || t === 3),
      models: pick('ops:model:'),
    },
    evidence: {
      topJobs: await topJobs(c, store),
      contributingTenants: [...c.tenants].sort((a, b) => b[1] - a[1]).slice(0, 1000).map(([tenantId, tera]) => ({ tenantId, operations: teraToOps(tera) })),
    },
    policyVersion: pack.version,
    raisedAt,
    status: 'open',
    history: [{ at: raisedAt, action: 'raise', from: null, to: 'open', actor: ACTOR }],
  };
}
