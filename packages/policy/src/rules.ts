import { alertId, type AlertRule, type AlertScope, type HardwareSplit, type LevelBasis, type Measure, type Severity, type SubjectSnapshot, type TenantSnapshot } from '@flopwatch/contracts';
import { levelOperations, levelsReached } from './levels.js';
import { burnPerDay, emptySplit, measured, MEASURE_WORDS, projectCrossing, sumSplits, trailingOperations } from './measure.js';
import type { Level, PolicyPack, VelocityBand } from './pack-schema.js';
import { tenantRisk, type TenantRisk } from './tenant-risk.js';

// The rule table: every rule is one entry here — its scope, the quantity it measures, its levels or
// bands and their severities, its prefilter, its explanation — and a pure function over a
// SubjectSnapshot the store produces. The ingest saves what these return; the API's projections and
// the exposure metrics call the same measure functions (measure.ts). docs/rules.md is checked against
// this table by a test.

/** What a rule's alert level means: a fraction of a threshold, a band of days, or one limit. */
export type RuleKind = 'threshold' | 'banded' | 'limit';

/** The rule-decided fields of an alert. */
export interface AlertDraft {
  id: string;
  rule: AlertRule;
  scope: AlertScope;
  subject: string;
  level: number;
  threshold: number;
  severity: Severity;
  observedOperations: number;
}

/** An alert a subject's snapshot calls for, with what its evidence is built from. */
export interface RuleOutcome {
  draft: AlertDraft;
  levelBasis: LevelBasis;
  /** The measured quantity and its split (by tier, country, controlled or not). */
  measure: { name: Measure; operations: number; split: HardwareSplit };
  projectedCrossingAt: string | null;
  /** Whose KYC snapshot the alert carries: the riskiest tenant involved. */
  kycTenant: string;
  /** Contributing tenants → operations. */
  tenants: Record<string, number>;
  /** Jobs to show instead of the contributors' largest (the jobs holding a cluster). */
  jobs?: { tenantId: string; jobId: string; operations: number }[];
  /** Why it fired, in an analyst's words; the first of the alert's reasons. */
  why: string;
}

/** The totals the apply script returns per tenant: upper bounds of what a full evaluation reads. */
export interface PrefilterTotals {
  /** All operations, all time. */
  operations: number;
  controlledTier1Operations: number;
  /** All operations in the trailing 365 days ending with the tenant's latest day. */
  trailing365dOperations: number;
  /** All operations in the trailing 24 hours ending with the tenant's latest hour. */
  trailing24hOperations: number;
  h100eActive: number;
}

export interface RuleEntry {
  rule: AlertRule;
  scopes: readonly AlertScope[];
  kind: RuleKind;
  /** The quantity the rule measures, in words (the pack names the measure). */
  quantity: (pack: PolicyPack) => string;
  /** Its levels: fraction, band or the single limit, each with its severity. */
  levels: (pack: PolicyPack) => { level: number; severity: Severity; label: string }[];
  /** When a tenant's returned totals may call for this rule (over-approximates; tenant-scope rules only). */
  prefilter: { text: string; mayFire?: (t: PrefilterTotals, risk: Pick<TenantRisk, 'tier' | 'trusted'>, pack: PolicyPack) => boolean };
  /** What it catches, for docs/rules.md. */
  explanation: string;
}

const lowest = (levels: readonly Level[]) => Math.min(...levels.map((l) => l.fraction));
const untrusted = (r: Pick<TenantRisk, 'tier' | 'trusted'>) => r.tier !== 1 || !r.trusted;
const leveled = (pack: PolicyPack, rule: 'frontier-approach' | 'tenant-approach' | 'structuring' | 'lineage-laundering') => pack.rules[rule].levels ?? pack.levels;
const fractions = (levels: readonly Level[]) => levels.map((l) => ({ level: l.fraction, severity: l.severity, label: `${Math.round(l.fraction * 1000) / 10} % of the threshold` }));

/** The velocity bands in effect: the pack's, else one band of horizonDays at the rule's severity. */
export function velocityBands(pack: PolicyPack): readonly VelocityBand[] {
  const rule = pack.rules.velocity;
  return rule.bands ?? [{ withinDays: rule.horizonDays, severity: rule.severity }];
}

/**
 * Upper bound of a measure's trailing-window operations from the returned totals: the trailing 365
 * days (all hardware) bound any window up to 365 days measured at or after the tenant's latest usage.
 */
function windowBound(t: PrefilterTotals, measure: Measure, windowDays: number): number {
  const total = measure === 'controlledTier1' ? t.controlledTier1Operations : t.operations;
  return windowDays <= 365 ? Math.min(t.trailing365dOperations, total) : total;
}
const totalBound = (t: PrefilterTotals, measure: Measure) => (measure === 'controlledTier1' ? t.controlledTier1Operations : t.operations);

export const RULES: Readonly<Record<AlertRule, RuleEntry>> = {
  'frontier-approach': {
    rule: 'frontier-approach',
    scopes: ['lineage'],
    kind: 'threshold',
    quantity: (p) => `a lineage's cumulative ${MEASURE_WORDS[p.rules['frontier-approach'].measure]}: its own and every ancestor's, once each`,
    levels: (p) => fractions(leveled(p, 'frontier-approach')),
    prefilter: { text: "the lineage's own upper bound (every contribution at any hardware) plus a closed base model's pretraining reaches the lowest level, or it has a parent" },
    explanation: 'an untrusted lineage (one untrusted contributing tenant makes it so) reaches each level of `thresholds.frontier`',
  },
  'tenant-approach': {
    rule: 'tenant-approach',
    scopes: ['tenant'],
    kind: 'threshold',
    quantity: (p) => `a tenant's ${MEASURE_WORDS[p.rules['tenant-approach'].measure]} in the trailing thresholds.tenant.windowDays, whatever lineage names it used`,
    levels: (p) => fractions(leveled(p, 'tenant-approach')),
    prefilter: {
      text: 'untrusted and the trailing-365-day (all hardware) total, capped by the measure\'s all-time total, reaches the lowest level',
      mayFire: (t, risk, p) => {
        const rule = p.rules['tenant-approach'];
        return rule.enabled && untrusted(risk) && windowBound(t, rule.measure, p.thresholds.tenant.windowDays) >= p.thresholds.tenant.operations * lowest(leveled(p, 'tenant-approach'));
      },
    },
    explanation: 'an untrusted tenant reaches each level of `thresholds.tenant`',
  },
  structuring: {
    rule: 'structuring',
    scopes: ['group', 'lineage'],
    kind: 'threshold',
    quantity: (p) => `the summed ${MEASURE_WORDS[p.rules.structuring.measure]} of linked tenants in the trailing window (group), or of a lineage's own feeders (lineage)`,
    levels: (p) => fractions(leveled(p, 'structuring')),
    prefilter: { text: 'groups: evaluated whenever any member changes; lineages: as frontier-approach' },
    explanation: 'linked tenants (shared beneficial owner, ultimate parent, payment fingerprint, contact domain) reach a level of `thresholds.tenant` together that no single member reached alone; or one lineage fed by several tenants, against `thresholds.frontier`',
  },
  'lineage-laundering': {
    rule: 'lineage-laundering',
    scopes: ['lineage'],
    kind: 'threshold',
    quantity: (p) => `a lineage's cumulative ${MEASURE_WORDS[p.rules['lineage-laundering'].measure]}, as frontier-approach`,
    levels: (p) => fractions(leveled(p, 'lineage-laundering')),
    prefilter: { text: 'as frontier-approach' },
    explanation: "a lineage whose ancestry graph passes, on any path, through other tenants (≥ `minTenants` along it) or a checkpoint link (a job resumed from a checkpoint another lineage wrote) reaches a level of `thresholds.frontier`",
  },
  velocity: {
    rule: 'velocity',
    scopes: ['tenant', 'group'],
    kind: 'banded',
    quantity: (p) => `the days until the trailing ${p.rules.velocity.burnWindowDays}-day burn rate of ${MEASURE_WORDS[p.rules.velocity.measure]} carries the subject's trailing-window total to thresholds.tenant`,
    levels: (p) => velocityBands(p).map((b, i) => ({ level: i + 1, severity: b.severity, label: `band ${i + 1}: crossing within ${b.withinDays} days` })),
    prefilter: {
      text: 'untrusted and the trailing-24-hour total × horizonDays reaches the remaining distance (always evaluated when burnWindowDays > 1)',
      mayFire: (t, risk, p) => {
        const rule = p.rules.velocity;
        if (!rule.enabled || !untrusted(risk)) return false;
        if (rule.burnWindowDays > 1) return true;
        const perDay = Math.min(t.trailing24hOperations, totalBound(t, rule.measure));
        return perDay > 0 && perDay * rule.horizonDays >= p.thresholds.tenant.operations - windowBound(t, rule.measure, p.thresholds.tenant.windowDays);
      },
    },
    explanation: 'at the trailing burn rate the subject crosses `thresholds.tenant` within `horizonDays`; level n = the n-th (narrower) band. Only narrows: a band is raised only while no narrower band of the subject exists, and the burn rate decays once usage stops',
  },
  'large-untrusted-cluster': {
    rule: 'large-untrusted-cluster',
    scopes: ['tenant'],
    kind: 'limit',
    quantity: () => 'H100-equivalents an untrusted tenant holds at once on controlled Tier 1 hardware',
    levels: (p) => [{ level: 1, severity: p.rules['large-untrusted-cluster'].severity, label: `more than ${p.rules['large-untrusted-cluster'].maxH100e} H100e` }],
    prefilter: {
      text: 'untrusted and the held H100-equivalents exceed maxH100e',
      mayFire: (t, risk, p) => p.rules['large-untrusted-cluster'].enabled && untrusted(risk) && t.h100eActive > p.rules['large-untrusted-cluster'].maxH100e,
    },
    explanation: 'an untrusted tenant holds more than `maxH100e` H100-equivalents at once (LPP: 26.9 M TPP ≈ 1,699 H100e); `threshold` is in H100e',
  },
  'unverified-at-scale': {
    rule: 'unverified-at-scale',
    scopes: ['tenant'],
    kind: 'limit',
    quantity: (p) => `a tenant's all-time ${MEASURE_WORDS[p.rules['unverified-at-scale'].measure]}`,
    levels: (p) => [{ level: 1, severity: p.rules['unverified-at-scale'].severity, label: `at least ${p.rules['unverified-at-scale'].operations.toExponential(0)} operations` }],
    prefilter: {
      text: "KYC not verified and the measure's all-time total reaches `operations`",
      mayFire: (t, risk, p) => p.rules['unverified-at-scale'].enabled && !risk.trusted && totalBound(t, p.rules['unverified-at-scale'].measure) >= p.rules['unverified-at-scale'].operations,
    },
    explanation: 'a tenant whose KYC is not `verified` passes `operations`',
  },
  'parent-in-tier3': {
    rule: 'parent-in-tier3',
    scopes: ['tenant'],
    kind: 'limit',
    quantity: (p) => `a tenant's all-time ${MEASURE_WORDS[p.rules['parent-in-tier3'].measure]}`,
    levels: (p) => [{ level: 1, severity: p.rules['parent-in-tier3'].severity, label: `at least ${p.rules['parent-in-tier3'].minOperations.toExponential(0)} operations` }],
    prefilter: {
      text: "Tier 3 and the measure's all-time total reaches `minOperations`",
      mayFire: (t, risk, p) => p.rules['parent-in-tier3'].enabled && risk.tier === 3 && totalBound(t, p.rules['parent-in-tier3'].measure) >= p.rules['parent-in-tier3'].minOperations,
    },
    explanation: 'a tenant whose HQ, ultimate parent or a beneficial owner is in Tier 3 (or on an entity list) passes a small floor (Red Flag 28)',
  },
};

/** Whether any tenant-scope rule could fire for a tenant with these returned totals (see RULES[*].prefilter). */
export function tenantMayAlert(t: PrefilterTotals, risk: Pick<TenantRisk, 'tier' | 'trusted'>, pack: PolicyPack): boolean {
  return Object.values(RULES).some((r) => r.prefilter.mayFire?.(t, risk, pack) ?? false);
}

/** The fewest operations (any hardware) of a lineage's own plus base model at which a lineage rule can fire. */
export function lineageFloorOps(pack: PolicyPack): number {
  const { rules, thresholds } = pack;
  return Math.min(
    rules['frontier-approach'].enabled ? thresholds.frontier.operations * lowest(leveled(pack, 'frontier-approach')) : Infinity,
    rules['lineage-laundering'].enabled ? thresholds.frontier.operations * lowest(leveled(pack, 'lineage-laundering')) : Infinity,
    rules.structuring.enabled ? thresholds.frontier.operations * lowest(leveled(pack, 'structuring')) : Infinity,
  );
}

/** Level ids of a rule as configured, in order (for severity carried over from lower levels). */
export function ruleLevels(rule: AlertRule, pack: PolicyPack): number[] {
  return RULES[rule].levels(pack).map((l) => l.level);
}

// ---------------------------------------------------------------------------------------------------
// Evaluation: pure functions over snapshots.

export const fmtOps = (ops: number) => ops.toExponential(2).replace('e+', 'e');
const pct = (part: number, whole: number) => `${whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0} %`;
const RISK_ORDER = (r: TenantRisk) => r.tier * 2 + (r.trusted ? 0 : 1);

interface Judged {
  snap: TenantSnapshot;
  risk: TenantRisk;
}

/** The riskiest of several tenants (highest tier, untrusted before trusted). */
function riskiest(tenants: Judged[]): Judged | undefined {
  return [...tenants].sort((a, b) => RISK_ORDER(b.risk) - RISK_ORDER(a.risk) || a.snap.id.localeCompare(b.snap.id))[0];
}

function worstRisk(tenants: Judged[]): Pick<TenantRisk, 'tier' | 'trusted'> {
  return { tier: Math.max(1, ...tenants.map((t) => t.risk.tier)) as 1 | 2 | 3, trusted: tenants.every((t) => t.risk.trusted) };
}

function thresholdDrafts(rule: AlertRule, scope: AlertScope, subject: string, observed: number, threshold: number, levels: readonly Level[], alone = -1): { draft: AlertDraft; levelBasis: LevelBasis }[] {
  return levelsReached(observed, threshold, levels).filter((l) => levelOperations(l, threshold) > alone).map((l) => ({
    draft: { id: alertId({ rule, scope, subject, level: l.fraction }), rule, scope, subject, level: l.fraction, threshold, severity: l.severity, observedOperations: observed },
    levelBasis: { kind: 'fraction', fraction: l.fraction },
  }));
}

function limitDraft(rule: AlertRule, subject: string, observed: number, limit: number, quantity: 'operations' | 'h100e', severity: Severity, observedOperations: number): { draft: AlertDraft; levelBasis: LevelBasis } {
  return {
    draft: { id: alertId({ rule, scope: 'tenant', subject, level: 1 }), rule, scope: 'tenant', subject, level: 1, threshold: limit, severity, observedOperations },
    levelBasis: { kind: 'limit', quantity, observed, limit },
  };
}

/** The velocity band a projected crossing falls in (the narrowest), or undefined. */
function velocityDraft(scope: AlertScope, subject: string, observed: number, perDay: number, asOfMs: number, pack: PolicyPack) {
  const rule = pack.rules.velocity;
  const threshold = pack.thresholds.tenant.operations;
  const crossing = projectCrossing(threshold, observed, perDay, asOfMs);
  if (!crossing || crossing.days > rule.horizonDays) return undefined;
  const bands = velocityBands(pack);
  let reached = -1;
  bands.forEach((b, i) => {
    if (crossing.days <= b.withinDays) reached = i;
  });
  const band = bands[reached];
  if (!band) return undefined;
  const level = reached + 1;
  return {
    draft: { id: alertId({ rule: 'velocity', scope, subject, level }), rule: 'velocity' as const, scope, subject, level, threshold, severity: band.severity, observedOperations: observed },
    levelBasis: { kind: 'band' as const, band: level, withinDays: band.withinDays, daysToCross: crossing.days },
    crossing,
  };
}

function tenantOutcomes(s: Extract<SubjectSnapshot, { scope: 'tenant' }>, pack: PolicyPack): RuleOutcome[] {
  const { rules, thresholds } = pack;
  const t = s.tenant;
  const risk = tenantRisk(t.record ?? undefined, pack);
  const id = t.id;
  const books = t.books;
  const out: RuleOutcome[] = [];
  const measureOf = (m: Measure, operations: number) => ({ name: m, operations, split: books.split });
  const base = { kycTenant: id, tenants: { [id]: books.split.all } };
  const windowDays = thresholds.tenant.windowDays;

  if (rules['tenant-approach'].enabled && untrusted(risk)) {
    const m = rules['tenant-approach'].measure;
    const observed = trailingOperations(books, m, windowDays, s.asOfMs);
    const perDay = burnPerDay(books, m, rules.velocity.burnWindowDays, s.asOfMs);
    for (const d of thresholdDrafts('tenant-approach', 'tenant', id, observed, thresholds.tenant.operations, leveled(pack, 'tenant-approach'))) {
      out.push({ ...d, ...base, measure: measureOf(m, observed), projectedCrossingAt: projectCrossing(d.draft.threshold, observed, perDay, s.asOfMs)?.at ?? null,
        why: `tenant ${id} ran ${fmtOps(observed)} ${MEASURE_WORDS[m]} in the trailing ${windowDays} days, ${pct(observed, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}, whatever lineage names it used` });
    }
  }
  const unverified = rules['unverified-at-scale'];
  if (unverified.enabled && !risk.trusted) {
    const observed = measured(books.split, unverified.measure);
    if (observed >= unverified.operations) {
      out.push({ ...limitDraft('unverified-at-scale', id, observed, unverified.operations, 'operations', unverified.severity, observed), ...base, measure: measureOf(unverified.measure, observed), projectedCrossingAt: null,
        why: `tenant ${id} has KYC status ${risk.kycStatus} and ran ${fmtOps(observed)} ${MEASURE_WORDS[unverified.measure]}, past ${fmtOps(unverified.operations)}: verification is overdue` });
    }
  }
  const tier3 = rules['parent-in-tier3'];
  if (tier3.enabled && risk.tier === 3) {
    const observed = measured(books.split, tier3.measure);
    if (observed >= tier3.minOperations) {
      out.push({ ...limitDraft('parent-in-tier3', id, observed, tier3.minOperations, 'operations', tier3.severity, observed), ...base, measure: measureOf(tier3.measure, observed), projectedCrossingAt: null,
        why: `tenant ${id} is owned or headquartered in Tier 3 (Red Flag 28) and ran ${fmtOps(observed)} ${MEASURE_WORDS[tier3.measure]}, past the ${fmtOps(tier3.minOperations)} floor` });
    }
  }
  const velocity = rules.velocity;
  if (velocity.enabled && untrusted(risk)) {
    const m = velocity.measure;
    const observed = trailingOperations(books, m, windowDays, s.asOfMs);
    const perDay = burnPerDay(books, m, velocity.burnWindowDays, s.asOfMs);
    const v = velocityDraft('tenant', id, observed, perDay, s.asOfMs, pack);
    if (v) {
      out.push({ draft: v.draft, levelBasis: v.levelBasis, ...base, measure: measureOf(m, observed), projectedCrossingAt: v.crossing.at,
        why: `at ${fmtOps(perDay)} ${MEASURE_WORDS[m]}/day (trailing ${velocity.burnWindowDays} d), tenant ${id} reaches ${fmtOps(v.draft.threshold)} in ${v.crossing.days.toFixed(1)} days (within ${v.levelBasis.withinDays}), now at ${fmtOps(observed)}` });
    }
  }
  const cluster = rules['large-untrusted-cluster'];
  if (cluster.enabled && untrusted(risk) && books.h100eActive > cluster.maxH100e) {
    const ops = books.split.controlledTier1;
    out.push({ ...limitDraft('large-untrusted-cluster', id, books.h100eActive, cluster.maxH100e, 'h100e', cluster.severity, ops), ...base, measure: measureOf('controlledTier1', ops), projectedCrossingAt: null,
      jobs: books.heldJobs.map((j) => ({ tenantId: id, jobId: j.jobId, operations: j.operations })),
      why: `untrusted tenant ${id} holds ${Math.round(books.h100eActive)} H100-equivalents at once on controlled Tier 1 hardware, more than ${cluster.maxH100e}: a training cluster` });
  }
  return out;
}

function groupOutcomes(s: Extract<SubjectSnapshot, { scope: 'group' }>, pack: PolicyPack): RuleOutcome[] {
  const { rules, thresholds } = pack;
  if (s.members.length < 2) return [];
  const judged = s.members.map((snap) => ({ snap, risk: tenantRisk(snap.record ?? undefined, pack) }));
  const risk = worstRisk(judged);
  if (!untrusted(risk)) return [];
  const worst = riskiest(judged)!;
  const ids = judged.map((j) => j.snap.id).sort();
  const split = sumSplits(s.members.map((m) => m.books.split));
  const windowDays = thresholds.tenant.windowDays;
  const countries = Object.keys(split.byCountry).sort();
  const out: RuleOutcome[] = [];

  const structuring = rules.structuring;
  if (structuring.enabled && s.members.length >= structuring.minMembers) {
    const m = structuring.measure;
    const each = s.members.map((t) => trailingOperations(t.books, m, windowDays, s.asOfMs));
    const total = each.reduce((a, b) => a + b, 0);
    const largest = Math.max(0, ...each);
    const perDay = s.members.reduce((sum, t) => sum + burnPerDay(t.books, m, rules.velocity.burnWindowDays, s.asOfMs), 0);
    const tenants = Object.fromEntries(s.members.map((t, i) => [t.id, each[i]!]));
    for (const d of thresholdDrafts('structuring', 'group', s.subject, total, thresholds.tenant.operations, leveled(pack, 'structuring'), largest)) {
      out.push({ ...d, kycTenant: worst.snap.id, tenants, measure: { name: m, operations: total, split }, projectedCrossingAt: projectCrossing(d.draft.threshold, total, perDay, s.asOfMs)?.at ?? null,
        why: `${ids.length} linked tenants [${ids.join(', ')}] ran ${fmtOps(total)} ${MEASURE_WORDS[m]} together in the trailing ${windowDays} days across ${countries.join(', ')} (${pct(total, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}) while the largest alone ran ${pct(largest, d.draft.threshold)}: one run split across accounts` });
    }
  }
  const velocity = rules.velocity;
  if (velocity.enabled) {
    const m = velocity.measure;
    const each = s.members.map((t) => trailingOperations(t.books, m, windowDays, s.asOfMs));
    const total = each.reduce((a, b) => a + b, 0);
    const perDay = s.members.reduce((sum, t) => sum + burnPerDay(t.books, m, velocity.burnWindowDays, s.asOfMs), 0);
    const v = velocityDraft('group', s.subject, total, perDay, s.asOfMs, pack);
    if (v) {
      out.push({ draft: v.draft, levelBasis: v.levelBasis, kycTenant: worst.snap.id, tenants: Object.fromEntries(s.members.map((t, i) => [t.id, each[i]!])), measure: { name: m, operations: total, split }, projectedCrossingAt: v.crossing.at,
        why: `at ${fmtOps(perDay)} ${MEASURE_WORDS[m]}/day combined, ${ids.length} linked tenants [${ids.join(', ')}] reach ${fmtOps(v.draft.threshold)} in ${v.crossing.days.toFixed(1)} days (within ${v.levelBasis.withinDays}), now at ${fmtOps(total)}` });
    }
  }
  return out;
}

/** A lineage's cumulative split: own + every ancestor once; a closed base model's pretraining only under `all`. */
export function lineageCumulative(l: Extract<SubjectSnapshot, { scope: 'lineage' }>['lineage']): { split: HardwareSplit; byTenant: Record<string, number>; of: (m: Measure) => number } {
  const parts = [l.own, ...l.ancestors.map((a) => a.own)];
  const split = sumSplits(parts.flatMap((p) => Object.values(p)));
  const byTenant: Record<string, number> = {};
  for (const p of parts) for (const [t, s] of Object.entries(p)) byTenant[t] = (byTenant[t] ?? 0) + s.all;
  // Where a base model was pretrained is not known: it counts only where hardware does not matter.
  return { split, byTenant, of: (m) => measured(split, m) + (m === 'all' ? l.baseModelOperations : 0) };
}

function lineageOutcomes(s: Extract<SubjectSnapshot, { scope: 'lineage' }>, pack: PolicyPack): RuleOutcome[] {
  const { rules, thresholds } = pack;
  const l = s.lineage;
  const cumulative = lineageCumulative(l);
  const feeders = new Set(Object.keys(cumulative.byTenant));
  const judged = s.tenants.filter((t) => feeders.has(t.id)).map((snap) => ({ snap, risk: tenantRisk(snap.record ?? undefined, pack) }));
  if (judged.length === 0) return [];
  const risk = worstRisk(judged);
  if (!untrusted(risk)) return [];
  const worst = riskiest(judged)!;
  const out: RuleOutcome[] = [];
  const perDay = (m: Measure) => judged.reduce((sum, t) => sum + burnPerDay(t.snap.books, m, rules.velocity.burnWindowDays, s.asOfMs), 0);
  const ancestry = l.ancestors.length > 0 ? `${l.id} ← ${l.ancestors.map((a) => a.id).join(', ')}` : l.id;
  const measureOf = (m: Measure) => ({ name: m, operations: cumulative.of(m), split: cumulative.split });
  const frontier = thresholds.frontier.operations;

  if (rules['frontier-approach'].enabled) {
    const m = rules['frontier-approach'].measure;
    const observed = cumulative.of(m);
    for (const d of thresholdDrafts('frontier-approach', 'lineage', l.id, observed, frontier, leveled(pack, 'frontier-approach'))) {
      out.push({ ...d, kycTenant: worst.snap.id, tenants: cumulative.byTenant, measure: measureOf(m), projectedCrossingAt: projectCrossing(frontier, observed, perDay(m), s.asOfMs)?.at ?? null,
        why: `lineage ${ancestry} has ${fmtOps(observed)} cumulative ${MEASURE_WORDS[m]}, ${pct(observed, d.draft.threshold)} of the ${fmtOps(d.draft.threshold)} frontier threshold` });
    }
  }

  const laundering = rules['lineage-laundering'];
  if (laundering.enabled && l.ancestors.length > 0) {
    const m = laundering.measure;
    const ancestryTenants = [...feeders].sort();
    const found = l.edges.filter((e) => e.kind === 'checkpoint');
    if (ancestryTenants.length >= laundering.minTenants || found.length > 0) {
      const observed = cumulative.of(m);
      for (const d of thresholdDrafts('lineage-laundering', 'lineage', l.id, observed, frontier, leveled(pack, 'lineage-laundering'))) {
        const links = found.map((e) => `${e.child} started from checkpoint ${e.checkpoint ?? '?'} written by ${e.parent}${e.tenantId ? ` (read by tenant ${e.tenantId})` : ''}`);
        out.push({ ...d, kycTenant: worst.snap.id, tenants: cumulative.byTenant, measure: measureOf(m), projectedCrossingAt: projectCrossing(frontier, observed, perDay(m), s.asOfMs)?.at ?? null,
          why: `lineage ${ancestry} continues training across ${ancestryTenants.length} tenant(s) [${ancestryTenants.join(', ')}]${links.length ? `; ${links.join('; ')}` : ''}; cumulative ${fmtOps(observed)} ${MEASURE_WORDS[m]}, ${pct(observed, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}` });
      }
    }
  }

  // "One lineage fed by several tenants": its own operations, split so that no feeder reached the level.
  const structuring = rules.structuring;
  if (structuring.enabled) {
    const m = structuring.measure;
    const own = Object.entries(l.own).map(([t, split]) => [t, measured(split, m)] as const).filter(([, v]) => v > 0);
    if (own.length >= structuring.minMembers) {
      const total = own.reduce((a, [, v]) => a + v, 0);
      const largest = Math.max(0, ...own.map(([, v]) => v));
      const split = sumSplits(Object.values(l.own));
      for (const d of thresholdDrafts('structuring', 'lineage', l.id, total, frontier, leveled(pack, 'structuring'), largest)) {
        out.push({ ...d, kycTenant: worst.snap.id, tenants: Object.fromEntries(own), measure: { name: m, operations: total, split }, projectedCrossingAt: projectCrossing(frontier, total, perDay(m), s.asOfMs)?.at ?? null,
          why: `lineage ${l.id} is fed by ${own.length} tenants [${own.map(([t]) => t).sort().join(', ')}]; together ${fmtOps(total)} ${MEASURE_WORDS[m]} (${pct(total, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}) while the largest alone put in ${pct(largest, d.draft.threshold)}` });
      }
    }
  }
  return out;
}

/** Every alert a subject's snapshot calls for under the pack (all levels reached; the caller creates the missing ones). */
export function evaluateSubject(snapshot: SubjectSnapshot, pack: PolicyPack): RuleOutcome[] {
  switch (snapshot.scope) {
    case 'tenant':
      return tenantOutcomes(snapshot, pack);
    case 'group':
      return groupOutcomes(snapshot, pack);
    case 'lineage':
      return lineageOutcomes(snapshot, pack);
  }
}

export { emptySplit };

/**
 * Where a subject stands for one threshold rule, as that rule measures it: the measured operations,
 * the threshold, and the burn rate and projected crossing of the same measure (exposure metrics and
 * dashboards). Null for rules whose level is not a fraction of a threshold, or a scope they lack.
 */
export function ruleStanding(rule: AlertRule, s: SubjectSnapshot, pack: PolicyPack): { operations: number; threshold: number; perDay: number; projectedCrossingAt: string | null } | null {
  const { rules, thresholds } = pack;
  const windowDays = thresholds.tenant.windowDays;
  const burnDays = rules.velocity.burnWindowDays;
  const done = (operations: number, threshold: number, perDay: number) => ({ operations, threshold, perDay, projectedCrossingAt: projectCrossing(threshold, operations, perDay, s.asOfMs)?.at ?? null });
  if (s.scope === 'tenant' && rule === 'tenant-approach') {
    const m = rules[rule].measure;
    return done(trailingOperations(s.tenant.books, m, windowDays, s.asOfMs), thresholds.tenant.operations, burnPerDay(s.tenant.books, m, burnDays, s.asOfMs));
  }
  if (s.scope === 'group' && rule === 'structuring') {
    const m = rules[rule].measure;
    const sum = (f: (t: TenantSnapshot) => number) => s.members.reduce((a, t) => a + f(t), 0);
    return done(sum((t) => trailingOperations(t.books, m, windowDays, s.asOfMs)), thresholds.tenant.operations, sum((t) => burnPerDay(t.books, m, burnDays, s.asOfMs)));
  }
  if (s.scope === 'lineage' && (rule === 'frontier-approach' || rule === 'lineage-laundering' || rule === 'structuring')) {
    const m = rules[rule].measure;
    const cumulative = lineageCumulative(s.lineage);
    const perDay = s.tenants.reduce((a, t) => a + burnPerDay(t.books, m, burnDays, s.asOfMs), 0);
    const own = Object.values(s.lineage.own).reduce((a, split) => a + measured(split, m), 0);
    return done(rule === 'structuring' ? own : cumulative.of(m), thresholds.frontier.operations, perDay);
  }
  return null;
}
