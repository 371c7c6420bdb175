import { ALERT_SCHEMA_VERSION, alertId, caseId, type Alert, type TenantSnapshot } from '@flopwatch/contracts';
import { evaluateSubject, lineageFloorOps, maxSeverity, RULES, ruleLevels, tenantMayAlert, tenantRisk, type PolicyPack, type RuleOutcome } from '@flopwatch/policy';
import { teraToOps, type Store, type TenantApplyResult } from '@flopwatch/store';
import type { RegistryView } from './registry-view.js';

/** Who raises alerts, as recorded in a case's history. */
const ACTOR = 'flopwatch-ingest';

export interface EvaluationContext {
  store: Store;
  pack: PolicyPack;
  /** The KYC registry, cached per version; the caller refreshes it before each evaluation. */
  view: RegistryView;
  /** Wall clock: used only when the books hold no event time at all. */
  now: () => Date;
  /** Adjusts an outcome before it is raised (suspected behavioural groups: their own severity; behaviour.ts). */
  adjust?: (o: RuleOutcome) => RuleOutcome;
}

/** What to evaluate: tenants (with their groups), lineages and groups. */
export interface Subjects {
  tenants?: Iterable<string>;
  lineages?: Iterable<string>;
  groups?: Iterable<string>;
}

/**
 * Alerts the batch's new totals call for: the touched tenants, their groups (whichever member
 * changed), their lineages, their descendants and any lineage linked now. Tenants nowhere near a
 * threshold are passed over using the totals the apply returned (each rule's prefilter in the policy's
 * rule table); the rest are evaluated in full from snapshots of the books.
 */
export async function raiseAlerts(results: TenantApplyResult[], ctx: EvaluationContext, linkedLineages: Iterable<string> = []): Promise<Alert[]> {
  let subjects: { tenants: string[]; groups: string[]; lineages: string[] };
  try {
    subjects = await subjectsToEvaluate(results, ctx, linkedLineages);
  } catch (err) {
    // Not even the subjects could be worked out: the batch's tenants and links are kept instead.
    await ctx.store.pendingEvaluations.begin({ tenants: results.map((r) => r.tenantId), lineages: [...linkedLineages] });
    throw err;
  }
  return evaluateDurably(subjects, ctx);
}

/**
 * Evaluates the subjects, recorded first in the store's pending evaluations and removed only once the
 * evaluation succeeded: one that cannot finish (a case that kept changing, a Redis failure, a crash, a
 * bug) stays there, and the re-evaluation loop retries it (reevaluate.ts) until it does.
 */
export async function evaluateDurably(subjects: { tenants: string[]; groups: string[]; lineages: string[] }, ctx: EvaluationContext): Promise<Alert[]> {
  const mark = await ctx.store.pendingEvaluations.begin(subjects);
  const raised = await evaluateSubjects(subjects, ctx);
  await ctx.store.pendingEvaluations.done(subjects, mark);
  return raised;
}

/** The tenants, groups and lineages a batch's new totals may have changed the alerts of. */
async function subjectsToEvaluate(results: TenantApplyResult[], ctx: EvaluationContext, linkedLineages: Iterable<string>) {
  const { pack, view, store } = ctx;
  const floor = lineageFloorOps(pack);
  const tenants: string[] = [];
  const groups = new Set<string>();
  const lineages = new Set(linkedLineages);
  // The books' event clock moves with the latest usage counted (burn rates decay against it).
  await store.books.advanceClock(Math.max(0, ...results.map((r) => r.totals.watermarkMs)));
  await Promise.all(results.map(async (r) => {
    const { record, groupId } = await view.tenant(r.tenantId);
    const t = r.totals;
    const totals = {
      operations: teraToOps(t.teraOps),
      controlledTier1Operations: teraToOps(t.controlledTier1TeraOps),
      trailing365dOperations: teraToOps(t.trailing365dTeraOps),
      trailing24hOperations: teraToOps(t.trailing24hTeraOps),
      h100eActive: t.h100eActive,
      conflicts: r.conflicts.length,
    };
    if (tenantMayAlert(totals, tenantRisk(record ?? undefined, pack), pack)) tenants.push(r.tenantId);
    // A group is evaluated whenever any member changes, whatever hardware that member used.
    if (groupId && (await view.groupMembers(groupId)).length > 1) groups.add(groupId);
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
  return { tenants, groups: [...groups], lineages: [...new Set([...lineages, ...descendants])] };
}

/** Memoised snapshots for one evaluation, tenant records from the cached registry view. */
const snapshots = ({ store, view, now }: EvaluationContext) =>
  store.snapshots.reader({ tenant: (id) => view.tenant(id), groupMembers: (id) => view.groupMembers(id), now: () => now().getTime() });

/**
 * Decides which alerts the subjects' stored state calls for and creates the missing ones.
 * State-based: every level a subject has reached should have its alert, so a retried batch, a
 * replay, a registry change or a second ingest instance finds the same alerts and creates none
 * twice (ids are deterministic, creation is "only if absent"). An alert an analyst closed —
 * false_positive included — therefore stays closed; only a higher level makes a new one. Banded
 * rules only narrow: a band is not raised while a narrower band of the same subject exists.
 */
export async function evaluateSubjects(subjects: Subjects, ctx: EvaluationContext): Promise<Alert[]> {
  const { store, pack } = ctx;
  const snap = snapshots(ctx);
  const tenants = new Set(subjects.tenants ?? []);
  const groups = new Set(subjects.groups ?? []);
  for (const t of await Promise.all([...tenants].map(snap.tenant))) if (t.groupId) groups.add(t.groupId);

  const snapshotsToEvaluate = await Promise.all([
    ...[...tenants].map(snap.forTenant),
    ...[...new Set(subjects.lineages ?? [])].map(snap.forLineage),
    ...[...groups].map(snap.forGroup),
  ]);
  const evaluated = snapshotsToEvaluate.flatMap((s) => evaluateSubject(s, pack));
  const outcomes = ctx.adjust ? evaluated.map(ctx.adjust) : evaluated;
  if (outcomes.length === 0) return [];

  const unique = [...new Map(outcomes.map((o) => [o.draft.id, o])).values()];
  const narrower = new Map(unique.filter((o) => RULES[o.draft.rule].kind === 'banded').map((o) => [o.draft.id, higherLevelIds(o, pack)]));
  const existing = await store.alerts.existing([...unique.map((o) => o.draft.id), ...[...narrower.values()].flat()]);
  // One case's levels are raised in order (each sees the one before: severity never lowers, the
  // case's history reads open → level); different cases never wait on each other.
  const byCase = new Map<string, RuleOutcome[]>();
  for (const o of unique) {
    if (existing.has(o.draft.id)) continue;
    if ((narrower.get(o.draft.id) ?? []).some((id) => existing.has(id))) continue;
    const key = caseId(o.draft);
    byCase.set(key, [...(byCase.get(key) ?? []), o]);
  }
  const runs = [...byCase.values()];
  const raisedByRun: Alert[][] = runs.map(() => []);
  let next = 0;
  const worker = async () => {
    for (let r = next++; r < runs.length; r = next++) {
      for (const o of runs[r]!) {
        const alert = await buildAlert(await neverLower(o, ctx), snap.tenant, ctx);
        if (await store.alerts.raise(alert)) raisedByRun[r]!.push(alert);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RAISE_CONCURRENCY, runs.length) }, worker));
  return raisedByRun.flat();
}

/** Cases raised at once by one evaluation: enough to keep Redis busy, few enough to bound memory. */
const RAISE_CONCURRENCY = 32;

function levelIds(o: RuleOutcome, pack: PolicyPack, keep: (level: number) => boolean): string[] {
  const { rule, scope, subject } = o.draft;
  return ruleLevels(rule, pack).filter(keep).map((level) => alertId({ rule, scope, subject, level }));
}

const higherLevelIds = (o: RuleOutcome, pack: PolicyPack) => levelIds(o, pack, (l) => l > o.draft.level);

/**
 * Severity may rise, never silently fall: a new level of a subject's rule carries at least the
 * severity of the lower levels already raised (whatever their case status), e.g. after a policy
 * change lowered a level's severity.
 */
async function neverLower(o: RuleOutcome, ctx: EvaluationContext): Promise<RuleOutcome> {
  const prior = await Promise.all(levelIds(o, ctx.pack, (l) => l < o.draft.level).map((id) => ctx.store.alerts.get<Alert>(id)));
  const severity = prior.reduce((s, a) => (a ? maxSeverity(s, a.severity) : s), o.draft.severity);
  return severity === o.draft.severity ? o : { ...o, draft: { ...o.draft, severity } };
}

async function buildAlert(o: RuleOutcome, tenant: (id: string) => Promise<TenantSnapshot>, ctx: EvaluationContext): Promise<Alert> {
  const { pack } = ctx;
  const kycTenant = await tenant(o.kycTenant);
  const contributors = Object.entries(o.tenants).filter(([, ops]) => ops > 0).sort((a, b) => b[1] - a[1]);
  const involved = await Promise.all(contributors.slice(0, 20).map(([id]) => tenant(id)));
  const raisedAt = ctx.now().toISOString();
  const risk = tenantRisk(kycTenant.record ?? undefined, pack);
  const { split } = o.measure;
  const topJobs = o.jobs ?? involved.flatMap((t) => t.books.topJobs.map((j) => ({ tenantId: t.id, jobId: j.jobId, operations: j.operations }))).sort((a, b) => b.operations - a.operations).slice(0, 10);
  return {
    id: o.draft.id,
    schemaVersion: ALERT_SCHEMA_VERSION,
    rule: o.draft.rule,
    scope: o.draft.scope,
    subject: o.draft.subject,
    level: o.draft.level,
    levelBasis: o.levelBasis,
    threshold: o.draft.threshold,
    observedOperations: o.draft.observedOperations,
    severity: o.draft.severity,
    projectedCrossingAt: o.projectedCrossingAt,
    kyc: {
      tenantId: kycTenant.id,
      hqCountry: kycTenant.record?.hqCountry ?? null,
      ownerCountries: risk.ownerCountries,
      tier: risk.tier,
      kycStatus: risk.kycStatus,
      trusted: risk.trusted,
      // The rule's own explanation first, then why the tenant is not trusted.
      reasons: [o.why.slice(0, 1000), ...risk.reasons],
    },
    hardware: {
      countries: Object.entries(split.byCountry).filter(([, v]) => v > 0).map(([c]) => c).sort(),
      tiers: Object.entries(split.byTier).filter(([, v]) => v > 0).map(([t]) => Number(t)).filter((t): t is 1 | 2 | 3 => t === 1 || t === 2 || t === 3).sort(),
      models: [...new Set(involved.flatMap((t) => Object.keys(t.books.byModel)))].sort(),
    },
    evidence: {
      topJobs,
      contributingTenants: contributors.slice(0, 1000).map(([tenantId, operations]) => ({ tenantId, operations })),
      measure: o.measure,
    },
    policyVersion: pack.version,
    raisedAt,
    status: 'open',
    history: [{ at: raisedAt, action: 'raise', from: null, to: 'open', actor: ACTOR }],
  };
}
