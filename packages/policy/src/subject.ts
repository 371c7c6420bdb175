import { alertId, type AlertRule, type AlertScope, type HardwareSplit, type LevelBasis, type Measure, type Severity, type SubjectSnapshot, type TenantSnapshot } from '@flopwatch/contracts';
import { levelOperations, levelsReached } from './levels.js';
import { burnPerDay, measured, projectCrossing, sumSplits, trailingOperations } from './measure.js';
import type { Level, PolicyPack, VelocityBand } from './pack-schema.js';
import { tenantRisk, type TenantRisk } from './tenant-risk.js';

// What the rule table's evaluators and standings share: each scope's context (worked out once per
// snapshot), the drafts of threshold, limit and band alerts, and the standing of a measured quantity
// against its levels.

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

/** One level of a rule and where the subject stands against it. */
export interface LevelStanding {
  /** The level's id: a fraction of the threshold, a band index, or 1 for a limit. */
  level: number;
  severity: Severity;
  /** The level in words (as docs/rules.md and the console say it). */
  label: string;
  /** The measured quantity at which the level is reached (a band: the threshold it projects to). */
  operations: number;
  reached: boolean;
  /** When the burn rate reaches it; null when reached, not burning, or not a projection (limits). */
  projectedAt: string | null;
}

/**
 * Where a subject stands against one rule, as that rule measures it: the measured quantity, the
 * threshold or limit, the burn rate of the same measure and the projected crossing of each level.
 */
export interface Standing {
  rule: AlertRule;
  scope: AlertScope;
  subject: string;
  measure: Measure;
  /** Operations of `measure`, or H100-equivalents held (large-untrusted-cluster). */
  quantity: 'operations' | 'h100e';
  measured: number;
  /** The threshold (threshold and banded rules) or the limit (limit rules). */
  threshold: number;
  /** Operations of `measure` per day over the pack's burn window (velocity.burnWindowDays). */
  perDay: number;
  /** When the burn rate carries `measured` to `threshold`; null when reached or not burning. */
  projectedCrossingAt: string | null;
  levels: LevelStanding[];
}

export const fmtOps = (ops: number) => ops.toExponential(2).replace('e+', 'e');
export const pct = (part: number, whole: number) => `${whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0} %`;
export const untrusted = (r: Pick<TenantRisk, 'tier' | 'trusted'>) => r.tier !== 1 || !r.trusted;
export const lowest = (levels: readonly Level[]) => Math.min(...levels.map((l) => l.fraction));

/** The levels a threshold rule fires at: its own, else the pack's. */
export const leveled = (pack: PolicyPack, rule: 'frontier-approach' | 'tenant-approach' | 'structuring' | 'lineage-laundering' | 'disputed-usage') => pack.rules[rule].levels ?? pack.levels;
export const fractionLabel = (l: Level) => `${Math.round(l.fraction * 1000) / 10} % of the threshold`;

/** The velocity bands in effect: the pack's, else one band of horizonDays at the rule's severity. */
export function velocityBands(pack: PolicyPack): readonly VelocityBand[] {
  const rule = pack.rules.velocity;
  return rule.bands ?? [{ withinDays: rule.horizonDays, severity: rule.severity }];
}
export const bandLabel = (b: VelocityBand, i: number) => `band ${i + 1}: crossing within ${b.withinDays} days`;

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

/** A lineage's cumulative split: own + every ancestor once; a closed base model's pretraining only under `all`. */
export function lineageCumulative(l: Extract<SubjectSnapshot, { scope: 'lineage' }>['lineage']): { split: HardwareSplit; byTenant: Record<string, number>; of: (m: Measure) => number } {
  const parts = [l.own, ...l.ancestors.map((a) => a.own)];
  const split = sumSplits(parts.flatMap((p) => Object.values(p)));
  const byTenant: Record<string, number> = {};
  for (const p of parts) for (const [t, s] of Object.entries(p)) byTenant[t] = (byTenant[t] ?? 0) + s.all;
  // Where a base model was pretrained is not known: it counts only where hardware does not matter.
  return { split, byTenant, of: (m) => measured(split, m) + (m === 'all' ? l.baseModelOperations : 0) };
}

/** Sums of the trailing window and the burn rate of a measure over some tenants, at the snapshot's event time. */
export function meter(tenants: TenantSnapshot[], asOfMs: number, pack: PolicyPack) {
  const windowDays = pack.thresholds.tenant.windowDays;
  const burnDays = pack.rules.velocity.burnWindowDays;
  return {
    windowed: (m: Measure) => tenants.reduce((a, t) => a + trailingOperations(t.books, m, windowDays, asOfMs), 0),
    allTime: (m: Measure) => tenants.reduce((a, t) => a + measured(t.books.split, m), 0),
    perDay: (m: Measure, days = burnDays) => tenants.reduce((a, t) => a + burnPerDay(t.books, m, days, asOfMs), 0),
  };
}

/** What every rule of a scope reads from one snapshot, worked out once. */
export interface TenantContext {
  s: Extract<SubjectSnapshot, { scope: 'tenant' }>;
  pack: PolicyPack;
  risk: TenantRisk;
  /** The tenant's own outcome fields: itself as KYC tenant and contributor. */
  base: { kycTenant: string; tenants: Record<string, number> };
  measureOf: (m: Measure, operations: number) => RuleOutcome['measure'];
  meter: ReturnType<typeof meter>;
}
export interface GroupContext {
  s: Extract<SubjectSnapshot, { scope: 'group' }>;
  pack: PolicyPack;
  /** The riskiest member: the alerts' KYC tenant. */
  worst: string;
  ids: string[];
  split: HardwareSplit;
  countries: string[];
  meter: ReturnType<typeof meter>;
}
export interface LineageContext {
  s: Extract<SubjectSnapshot, { scope: 'lineage' }>;
  pack: PolicyPack;
  worst: string;
  cumulative: ReturnType<typeof lineageCumulative>;
  feeders: Set<string>;
  /** `L ← A, B`: the lineage and its ancestors, for the alerts' reasons. */
  ancestry: string;
  /** Burn rate of a measure over the feeding tenants. */
  perDay: (m: Measure) => number;
  measureOf: (m: Measure) => RuleOutcome['measure'];
}
export type Context = TenantContext | GroupContext | LineageContext;

export function tenantContext(s: Extract<SubjectSnapshot, { scope: 'tenant' }>, pack: PolicyPack): TenantContext {
  const t = s.tenant;
  return {
    s, pack, risk: tenantRisk(t.record ?? undefined, pack),
    base: { kycTenant: t.id, tenants: { [t.id]: t.books.split.all } },
    measureOf: (m, operations) => ({ name: m, operations, split: t.books.split }),
    meter: meter([t], s.asOfMs, pack),
  };
}

/** A group's context, or null when no group rule can fire (fewer than two members, or all trusted). */
export function groupContext(s: Extract<SubjectSnapshot, { scope: 'group' }>, pack: PolicyPack): GroupContext | null {
  if (s.members.length < 2) return null;
  const judged = s.members.map((snap) => ({ snap, risk: tenantRisk(snap.record ?? undefined, pack) }));
  if (!untrusted(worstRisk(judged))) return null;
  const split = sumSplits(s.members.map((m) => m.books.split));
  return {
    s, pack, worst: riskiest(judged)!.snap.id, ids: judged.map((j) => j.snap.id).sort(), split,
    countries: Object.keys(split.byCountry).sort(), meter: meter(s.members, s.asOfMs, pack),
  };
}

/** A lineage's context, or null when no lineage rule can fire (no feeder, or all trusted). */
export function lineageContext(s: Extract<SubjectSnapshot, { scope: 'lineage' }>, pack: PolicyPack): LineageContext | null {
  const l = s.lineage;
  const cumulative = lineageCumulative(l);
  const feeders = new Set(Object.keys(cumulative.byTenant));
  const judged = s.tenants.filter((t) => feeders.has(t.id)).map((snap) => ({ snap, risk: tenantRisk(snap.record ?? undefined, pack) }));
  if (judged.length === 0 || !untrusted(worstRisk(judged))) return null;
  const burn = meter(judged.map((j) => j.snap), s.asOfMs, pack);
  return {
    s, pack, worst: riskiest(judged)!.snap.id, cumulative, feeders,
    ancestry: l.ancestors.length > 0 ? `${l.id} ← ${l.ancestors.map((a) => a.id).join(', ')}` : l.id,
    perDay: (m) => burn.perDay(m),
    measureOf: (m) => ({ name: m, operations: cumulative.of(m), split: cumulative.split }),
  };
}

export function thresholdDrafts(rule: AlertRule, scope: AlertScope, subject: string, observed: number, threshold: number, levels: readonly Level[], alone = -1): { draft: AlertDraft; levelBasis: LevelBasis }[] {
  return levelsReached(observed, threshold, levels).filter((l) => levelOperations(l, threshold) > alone).map((l) => ({
    draft: { id: alertId({ rule, scope, subject, level: l.fraction }), rule, scope, subject, level: l.fraction, threshold, severity: l.severity, observedOperations: observed },
    levelBasis: { kind: 'fraction', fraction: l.fraction },
  }));
}

export function limitDraft(rule: AlertRule, subject: string, observed: number, limit: number, quantity: 'operations' | 'h100e', severity: Severity, observedOperations: number): { draft: AlertDraft; levelBasis: LevelBasis } {
  return {
    draft: { id: alertId({ rule, scope: 'tenant', subject, level: 1 }), rule, scope: 'tenant', subject, level: 1, threshold: limit, severity, observedOperations },
    levelBasis: { kind: 'limit', quantity, observed, limit },
  };
}

/** The velocity band a projected crossing falls in (the narrowest), or undefined. */
export function velocityDraft(scope: AlertScope, subject: string, observed: number, perDay: number, asOfMs: number, pack: PolicyPack) {
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

type StandingOf = Pick<Standing, 'rule' | 'measure' | 'measured' | 'threshold' | 'perDay'>;

/** A threshold rule's standing: each level a fraction of the threshold, projected at the burn rate. */
export function thresholdStanding(s: SubjectSnapshot, { rule, measure, measured: observed, threshold, perDay }: StandingOf, levels: readonly Level[]): Standing {
  return {
    rule, scope: s.scope, subject: s.subject, measure, quantity: 'operations', measured: observed, threshold, perDay,
    projectedCrossingAt: projectCrossing(threshold, observed, perDay, s.asOfMs)?.at ?? null,
    levels: levels.map((l) => {
      const at = levelOperations(l, threshold);
      const reached = observed >= at;
      return { level: l.fraction, severity: l.severity, label: fractionLabel(l), operations: at, reached, projectedAt: reached ? null : (projectCrossing(at, observed, perDay, s.asOfMs)?.at ?? null) };
    }),
  };
}

/** The velocity rule's standing: each band reached while the projected crossing lies within it (and the horizon). */
export function bandStanding(s: SubjectSnapshot, of: StandingOf, pack: PolicyPack): Standing {
  const crossing = projectCrossing(of.threshold, of.measured, of.perDay, s.asOfMs);
  const inHorizon = crossing !== null && crossing.days <= pack.rules.velocity.horizonDays;
  return {
    ...of, scope: s.scope, subject: s.subject, quantity: 'operations', projectedCrossingAt: crossing?.at ?? null,
    levels: velocityBands(pack).map((b, i) => ({ level: i + 1, severity: b.severity, label: bandLabel(b, i), operations: of.threshold, reached: inHorizon && crossing.days <= b.withinDays, projectedAt: crossing?.at ?? null })),
  };
}

/** A limit rule's standing: one level, reached at the limit (`over`: only past it). */
export function limitStanding(s: SubjectSnapshot, of: StandingOf & { quantity: 'operations' | 'h100e'; severity: Severity; label: string; over?: boolean }): Standing {
  const reached = of.over ? of.measured > of.threshold : of.measured >= of.threshold;
  const projectedAt = reached || of.quantity !== 'operations' ? null : (projectCrossing(of.threshold, of.measured, of.perDay, s.asOfMs)?.at ?? null);
  return {
    rule: of.rule, scope: s.scope, subject: s.subject, measure: of.measure, quantity: of.quantity, measured: of.measured, threshold: of.threshold, perDay: of.perDay,
    projectedCrossingAt: projectedAt,
    levels: [{ level: 1, severity: of.severity, label: of.label, operations: of.threshold, reached, projectedAt }],
  };
}
