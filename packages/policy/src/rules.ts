import type { AlertRule, AlertScope, Measure, Severity, SubjectSnapshot } from '@flopwatch/contracts';
import { MEASURE_WORDS, measured, projectCrossing, sumSplits } from './measure.js';
import type { Level, PolicyPack } from './pack-schema.js';
import {
  bandLabel,
  bandStanding,
  fmtOps,
  fractionLabel,
  groupContext,
  leveled,
  limitDraft,
  limitStanding,
  lineageContext,
  lineageCumulative,
  lowest,
  meter,
  pct,
  tenantContext,
  thresholdDrafts,
  thresholdStanding,
  untrusted,
  velocityBands,
  velocityDraft,
  type GroupContext,
  type LineageContext,
  type RuleOutcome,
  type Standing,
  type TenantContext,
} from './subject.js';
import type { TenantRisk } from './tenant-risk.js';
import { DISPUTED_USAGE } from './disputed-usage.js';
import { REGION_HOPPING } from './region-hopping.js';

// The rule table: every rule is one entry here — its label, scope, the quantity it measures, its
// levels or bands and their severities, its prefilter, its explanation — with its two answers over a
// SubjectSnapshot the store produces: `evaluate` (the alerts it calls for) and `standing` (where the
// subject stands: measured, levels, projected crossing). The ingest saves what `evaluate` returns; the
// exposure gauges and the API's usage answer present `standing`. docs/rules.md is checked against this
// table by a test. A new rule: one entry here, its evaluator, its tests.

/** What a rule's alert level means: a fraction of a threshold, a band of days, or one limit. */
export type RuleKind = 'threshold' | 'banded' | 'limit';

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
  /** Reports of this call that conflicted with counted time at another rate (they move the disputed excess). */
  conflicts?: number;
}

type Snap<S extends AlertScope> = Extract<SubjectSnapshot, { scope: S }>;

export interface RuleEntry {
  rule: AlertRule;
  /** The rule's name as the console and the docs show it. */
  label: string;
  /** Scopes the rule raises alerts for. */
  scopes: readonly AlertScope[];
  kind: RuleKind;
  /** The quantity the rule measures, in words (the pack names the measure). */
  quantity: (pack: PolicyPack) => string;
  /** Its levels: fraction, band or the single limit, each with its severity and its text. */
  levels: (pack: PolicyPack) => { level: number; severity: Severity; label: string }[];
  /** When a tenant's returned totals may call for this rule (over-approximates; tenant-scope rules only). */
  prefilter: { text: string; mayFire?: (t: PrefilterTotals, risk: Pick<TenantRisk, 'tier' | 'trusted'>, pack: PolicyPack) => boolean };
  /** What it catches, for docs/rules.md. */
  explanation: string;
  /** The alerts the rule calls for, per scope it raises in (the scope's context is worked out once per snapshot). */
  evaluate: { tenant?: (c: TenantContext) => RuleOutcome[]; group?: (c: GroupContext) => RuleOutcome[]; lineage?: (c: LineageContext) => RuleOutcome[] };
  /**
   * Where a subject stands against the rule, per scope it is measured in (whether or not the rule is
   * enabled or the subject trusted): its scopes, and where the API's usage answer shows it.
   */
  standing: { tenant?: (s: Snap<'tenant'>, pack: PolicyPack) => Standing; group?: (s: Snap<'group'>, pack: PolicyPack) => Standing; lineage?: (s: Snap<'lineage'>, pack: PolicyPack) => Standing };
}

const fractions = (levels: readonly Level[]) => levels.map((l) => ({ level: l.fraction, severity: l.severity, label: fractionLabel(l) }));

/**
 * Upper bound of a measure's trailing-window operations from the returned totals: the trailing 365
 * days (all hardware) bound any window up to 365 days measured at or after the tenant's latest usage.
 */
function windowBound(t: PrefilterTotals, measure: Measure, windowDays: number): number {
  const total = measure === 'controlledTier1' ? t.controlledTier1Operations : t.operations;
  return windowDays <= 365 ? Math.min(t.trailing365dOperations, total) : total;
}
const totalBound = (t: PrefilterTotals, measure: Measure) => (measure === 'controlledTier1' ? t.controlledTier1Operations : t.operations);

/** Sum of a measure over tenants' all-time splits, as a tenant or group stands against thresholds.frontier. */
function frontierOfTenants(s: Snap<'tenant'> | Snap<'group'>, pack: PolicyPack): Standing {
  const m = pack.rules['frontier-approach'].measure;
  const tenants = s.scope === 'tenant' ? [s.tenant] : s.members;
  const mt = meter(tenants, s.asOfMs, pack);
  return thresholdStanding(s, { rule: 'frontier-approach', measure: m, measured: mt.allTime(m), threshold: pack.thresholds.frontier.operations, perDay: mt.perDay(m) }, leveled(pack, 'frontier-approach'));
}

/** A tenant's or group's trailing-window measure against thresholds.tenant. */
function windowedOfTenants(rule: 'tenant-approach' | 'structuring', s: Snap<'tenant'> | Snap<'group'>, pack: PolicyPack): Standing {
  const m = pack.rules[rule].measure;
  const mt = meter(s.scope === 'tenant' ? [s.tenant] : s.members, s.asOfMs, pack);
  return thresholdStanding(s, { rule, measure: m, measured: mt.windowed(m), threshold: pack.thresholds.tenant.operations, perDay: mt.perDay(m) }, leveled(pack, rule));
}

/** A lineage rule's standing: cumulative (or, structuring, own) operations against thresholds.frontier. */
function lineageStanding(rule: 'frontier-approach' | 'lineage-laundering' | 'structuring', s: Snap<'lineage'>, pack: PolicyPack): Standing {
  const m = pack.rules[rule].measure;
  const observed = rule === 'structuring' ? Object.values(s.lineage.own).reduce((a, split) => a + measured(split, m), 0) : lineageCumulative(s.lineage).of(m);
  const perDay = meter(s.tenants, s.asOfMs, pack).perDay(m);
  return thresholdStanding(s, { rule, measure: m, measured: observed, threshold: pack.thresholds.frontier.operations, perDay }, leveled(pack, rule));
}

function velocityStanding(s: Snap<'tenant'> | Snap<'group'>, pack: PolicyPack): Standing {
  const rule = pack.rules.velocity;
  const mt = meter(s.scope === 'tenant' ? [s.tenant] : s.members, s.asOfMs, pack);
  return bandStanding(s, { rule: 'velocity', measure: rule.measure, measured: mt.windowed(rule.measure), threshold: pack.thresholds.tenant.operations, perDay: mt.perDay(rule.measure, rule.burnWindowDays) }, pack);
}

/** A tenant's all-time measure against a limit rule's floor. */
function floorStanding(rule: 'unverified-at-scale' | 'parent-in-tier3', s: Snap<'tenant'>, pack: PolicyPack, floor: number, severity: Severity, label: string): Standing {
  const m = pack.rules[rule].measure;
  const mt = meter([s.tenant], s.asOfMs, pack);
  return limitStanding(s, { rule, measure: m, quantity: 'operations', measured: mt.allTime(m), threshold: floor, perDay: mt.perDay(m), severity, label });
}

const unverifiedLabel = (p: PolicyPack) => `at least ${p.rules['unverified-at-scale'].operations.toExponential(0)} operations`;
const tier3Label = (p: PolicyPack) => `at least ${p.rules['parent-in-tier3'].minOperations.toExponential(0)} operations`;
const clusterLabel = (p: PolicyPack) => `more than ${p.rules['large-untrusted-cluster'].maxH100e} H100e`;

/** Frontier-approach and lineage-laundering: a lineage's cumulative measure reaching thresholds.frontier. */
function cumulativeOutcomes(rule: 'frontier-approach' | 'lineage-laundering', c: LineageContext, why: (observed: number, threshold: number) => string): RuleOutcome[] {
  const m = c.pack.rules[rule].measure;
  const frontier = c.pack.thresholds.frontier.operations;
  const observed = c.cumulative.of(m);
  return thresholdDrafts(rule, 'lineage', c.s.lineage.id, observed, frontier, leveled(c.pack, rule)).map((d) => ({
    ...d, kycTenant: c.worst, tenants: c.cumulative.byTenant, measure: c.measureOf(m), projectedCrossingAt: projectCrossing(frontier, observed, c.perDay(m), c.s.asOfMs)?.at ?? null,
    why: why(observed, d.draft.threshold),
  }));
}

export const RULES: Readonly<Record<AlertRule, RuleEntry>> = {
  'frontier-approach': {
    rule: 'frontier-approach',
    label: 'Frontier approach',
    scopes: ['lineage'],
    kind: 'threshold',
    quantity: (p) => `a lineage's cumulative ${MEASURE_WORDS[p.rules['frontier-approach'].measure]}: its own and every ancestor's, once each`,
    levels: (p) => fractions(leveled(p, 'frontier-approach')),
    prefilter: { text: "the lineage's own upper bound (every contribution at any hardware) plus a closed base model's pretraining reaches the lowest level, or it has a parent" },
    explanation: 'an untrusted lineage (one untrusted contributing tenant makes it so) reaches each level of `thresholds.frontier`',
    evaluate: {
      lineage: (c) => (c.pack.rules['frontier-approach'].enabled
        ? cumulativeOutcomes('frontier-approach', c, (observed, threshold) => `lineage ${c.ancestry} has ${fmtOps(observed)} cumulative ${MEASURE_WORDS[c.pack.rules['frontier-approach'].measure]}, ${pct(observed, threshold)} of the ${fmtOps(threshold)} frontier threshold`)
        : []),
    },
    // A tenant's or group's all-time measure: where its usage would stand if it were one lineage.
    standing: { lineage: (s, p) => lineageStanding('frontier-approach', s, p), tenant: frontierOfTenants, group: frontierOfTenants },
  },
  'tenant-approach': {
    rule: 'tenant-approach',
    label: 'Tenant approach',
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
    evaluate: {
      tenant: (c) => {
        const { pack, s } = c;
        if (!pack.rules['tenant-approach'].enabled || !untrusted(c.risk)) return [];
        const m = pack.rules['tenant-approach'].measure;
        const observed = c.meter.windowed(m);
        const perDay = c.meter.perDay(m);
        const id = s.tenant.id;
        return thresholdDrafts('tenant-approach', 'tenant', id, observed, pack.thresholds.tenant.operations, leveled(pack, 'tenant-approach')).map((d) => ({
          ...d, ...c.base, measure: c.measureOf(m, observed), projectedCrossingAt: projectCrossing(d.draft.threshold, observed, perDay, s.asOfMs)?.at ?? null,
          why: `tenant ${id} ran ${fmtOps(observed)} ${MEASURE_WORDS[m]} in the trailing ${pack.thresholds.tenant.windowDays} days, ${pct(observed, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}, whatever lineage names it used`,
        }));
      },
    },
    // A group's summed members: where its usage would stand if it were one tenant.
    standing: { tenant: (s, p) => windowedOfTenants('tenant-approach', s, p), group: (s, p) => windowedOfTenants('tenant-approach', s, p) },
  },
  structuring: {
    rule: 'structuring',
    label: 'Structuring',
    scopes: ['group', 'lineage'],
    kind: 'threshold',
    quantity: (p) => `the summed ${MEASURE_WORDS[p.rules.structuring.measure]} of linked tenants in the trailing window (group), or of a lineage's own feeders (lineage)`,
    levels: (p) => fractions(leveled(p, 'structuring')),
    prefilter: { text: 'groups: evaluated whenever any member changes; lineages: as frontier-approach' },
    explanation: 'linked tenants (shared beneficial owner, ultimate parent, payment fingerprint, contact domain) reach a level of `thresholds.tenant` together that no single member reached alone; or one lineage fed by several tenants, against `thresholds.frontier`',
    evaluate: {
      group: (c) => {
        const { pack, s } = c;
        const structuring = pack.rules.structuring;
        if (!structuring.enabled || s.members.length < structuring.minMembers) return [];
        const m = structuring.measure;
        const windowDays = pack.thresholds.tenant.windowDays;
        const each = s.members.map((t) => meter([t], s.asOfMs, pack).windowed(m));
        const total = each.reduce((a, b) => a + b, 0);
        const largest = Math.max(0, ...each);
        const perDay = c.meter.perDay(m);
        const tenants = Object.fromEntries(s.members.map((t, i) => [t.id, each[i]!]));
        return thresholdDrafts('structuring', 'group', s.subject, total, pack.thresholds.tenant.operations, leveled(pack, 'structuring'), largest).map((d) => ({
          ...d, kycTenant: c.worst, tenants, measure: { name: m, operations: total, split: c.split }, projectedCrossingAt: projectCrossing(d.draft.threshold, total, perDay, s.asOfMs)?.at ?? null,
          why: `${c.ids.length} linked tenants [${c.ids.join(', ')}] ran ${fmtOps(total)} ${MEASURE_WORDS[m]} together in the trailing ${windowDays} days across ${c.countries.join(', ')} (${pct(total, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}) while the largest alone ran ${pct(largest, d.draft.threshold)}: one run split across accounts`,
        }));
      },
      // "One lineage fed by several tenants": its own operations, split so that no feeder reached the level.
      lineage: (c) => {
        const { pack, s } = c;
        const structuring = pack.rules.structuring;
        if (!structuring.enabled) return [];
        const m = structuring.measure;
        const l = s.lineage;
        const own = Object.entries(l.own).map(([t, split]) => [t, measured(split, m)] as const).filter(([, v]) => v > 0);
        if (own.length < structuring.minMembers) return [];
        const total = own.reduce((a, [, v]) => a + v, 0);
        const largest = Math.max(0, ...own.map(([, v]) => v));
        const split = sumSplits(Object.values(l.own));
        const frontier = pack.thresholds.frontier.operations;
        return thresholdDrafts('structuring', 'lineage', l.id, total, frontier, leveled(pack, 'structuring'), largest).map((d) => ({
          ...d, kycTenant: c.worst, tenants: Object.fromEntries(own), measure: { name: m, operations: total, split }, projectedCrossingAt: projectCrossing(frontier, total, c.perDay(m), s.asOfMs)?.at ?? null,
          why: `lineage ${l.id} is fed by ${own.length} tenants [${own.map(([t]) => t).sort().join(', ')}]; together ${fmtOps(total)} ${MEASURE_WORDS[m]} (${pct(total, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}) while the largest alone put in ${pct(largest, d.draft.threshold)}`,
        }));
      },
    },
    standing: { group: (s, p) => windowedOfTenants('structuring', s, p), lineage: (s, p) => lineageStanding('structuring', s, p) },
  },
  'lineage-laundering': {
    rule: 'lineage-laundering',
    label: 'Lineage laundering',
    scopes: ['lineage'],
    kind: 'threshold',
    quantity: (p) => `a lineage's cumulative ${MEASURE_WORDS[p.rules['lineage-laundering'].measure]}, as frontier-approach`,
    levels: (p) => fractions(leveled(p, 'lineage-laundering')),
    prefilter: { text: 'as frontier-approach' },
    explanation: "a lineage whose ancestry graph passes, on any path, through other tenants (≥ `minTenants` along it) or a checkpoint link (a job resumed from a checkpoint another lineage wrote) reaches a level of `thresholds.frontier`",
    evaluate: {
      lineage: (c) => {
        const laundering = c.pack.rules['lineage-laundering'];
        const l = c.s.lineage;
        if (!laundering.enabled || l.ancestors.length === 0) return [];
        const ancestryTenants = [...c.feeders].sort();
        const found = l.edges.filter((e) => e.kind === 'checkpoint');
        if (ancestryTenants.length < laundering.minTenants && found.length === 0) return [];
        const links = found.map((e) => `${e.child} started from checkpoint ${e.checkpoint ?? '?'} written by ${e.parent}${e.tenantId ? ` (read by tenant ${e.tenantId})` : ''}`);
        return cumulativeOutcomes('lineage-laundering', c, (observed, threshold) =>
          `lineage ${c.ancestry} continues training across ${ancestryTenants.length} tenant(s) [${ancestryTenants.join(', ')}]${links.length ? `; ${links.join('; ')}` : ''}; cumulative ${fmtOps(observed)} ${MEASURE_WORDS[laundering.measure]}, ${pct(observed, threshold)} of ${fmtOps(threshold)}`);
      },
    },
    standing: { lineage: (s, p) => lineageStanding('lineage-laundering', s, p) },
  },
  velocity: {
    rule: 'velocity',
    label: 'Velocity',
    scopes: ['tenant', 'group'],
    kind: 'banded',
    quantity: (p) => `the days until the trailing ${p.rules.velocity.burnWindowDays}-day burn rate of ${MEASURE_WORDS[p.rules.velocity.measure]} carries the subject's trailing-window total to thresholds.tenant`,
    levels: (p) => velocityBands(p).map((b, i) => ({ level: i + 1, severity: b.severity, label: bandLabel(b, i) })),
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
    evaluate: {
      tenant: (c) => {
        const { pack, s } = c;
        const velocity = pack.rules.velocity;
        if (!velocity.enabled || !untrusted(c.risk)) return [];
        const m = velocity.measure;
        const id = s.tenant.id;
        const observed = c.meter.windowed(m);
        const perDay = c.meter.perDay(m, velocity.burnWindowDays);
        const v = velocityDraft('tenant', id, observed, perDay, s.asOfMs, pack);
        return v ? [{
          draft: v.draft, levelBasis: v.levelBasis, ...c.base, measure: c.measureOf(m, observed), projectedCrossingAt: v.crossing.at,
          why: `at ${fmtOps(perDay)} ${MEASURE_WORDS[m]}/day (trailing ${velocity.burnWindowDays} d), tenant ${id} reaches ${fmtOps(v.draft.threshold)} in ${v.crossing.days.toFixed(1)} days (within ${v.levelBasis.withinDays}), now at ${fmtOps(observed)}`,
        }] : [];
      },
      group: (c) => {
        const { pack, s } = c;
        const velocity = pack.rules.velocity;
        if (!velocity.enabled) return [];
        const m = velocity.measure;
        const each = s.members.map((t) => meter([t], s.asOfMs, pack).windowed(m));
        const total = each.reduce((a, b) => a + b, 0);
        const perDay = c.meter.perDay(m, velocity.burnWindowDays);
        const v = velocityDraft('group', s.subject, total, perDay, s.asOfMs, pack);
        return v ? [{
          draft: v.draft, levelBasis: v.levelBasis, kycTenant: c.worst, tenants: Object.fromEntries(s.members.map((t, i) => [t.id, each[i]!])), measure: { name: m, operations: total, split: c.split }, projectedCrossingAt: v.crossing.at,
          why: `at ${fmtOps(perDay)} ${MEASURE_WORDS[m]}/day combined, ${c.ids.length} linked tenants [${c.ids.join(', ')}] reach ${fmtOps(v.draft.threshold)} in ${v.crossing.days.toFixed(1)} days (within ${v.levelBasis.withinDays}), now at ${fmtOps(total)}`,
        }] : [];
      },
    },
    standing: { tenant: velocityStanding, group: velocityStanding },
  },
  'large-untrusted-cluster': {
    rule: 'large-untrusted-cluster',
    label: 'Large untrusted cluster',
    scopes: ['tenant'],
    kind: 'limit',
    quantity: () => 'H100-equivalents an untrusted tenant holds at once on controlled Tier 1 hardware',
    levels: (p) => [{ level: 1, severity: p.rules['large-untrusted-cluster'].severity, label: clusterLabel(p) }],
    prefilter: {
      text: 'untrusted and the held H100-equivalents exceed maxH100e',
      mayFire: (t, risk, p) => p.rules['large-untrusted-cluster'].enabled && untrusted(risk) && t.h100eActive > p.rules['large-untrusted-cluster'].maxH100e,
    },
    explanation: 'an untrusted tenant holds more than `maxH100e` H100-equivalents at once (LPP: 26.9 M TPP ≈ 1,699 H100e); `threshold` is in H100e',
    evaluate: {
      tenant: (c) => {
        const cluster = c.pack.rules['large-untrusted-cluster'];
        const { id, books } = c.s.tenant;
        if (!cluster.enabled || !untrusted(c.risk) || !(books.h100eActive > cluster.maxH100e)) return [];
        const ops = books.split.controlledTier1;
        return [{
          ...limitDraft('large-untrusted-cluster', id, books.h100eActive, cluster.maxH100e, 'h100e', cluster.severity, ops), ...c.base, measure: c.measureOf('controlledTier1', ops), projectedCrossingAt: null,
          jobs: books.heldJobs.map((j) => ({ tenantId: id, jobId: j.jobId, operations: j.operations })),
          why: `untrusted tenant ${id} holds ${Math.round(books.h100eActive)} H100-equivalents at once on controlled Tier 1 hardware, more than ${cluster.maxH100e}: a training cluster`,
        }];
      },
    },
    standing: {
      tenant: (s, p) => {
        const cluster = p.rules['large-untrusted-cluster'];
        return limitStanding(s, { rule: 'large-untrusted-cluster', measure: 'controlledTier1', quantity: 'h100e', measured: s.tenant.books.h100eActive, threshold: cluster.maxH100e, perDay: 0, severity: cluster.severity, label: clusterLabel(p), over: true });
      },
    },
  },
  'unverified-at-scale': {
    rule: 'unverified-at-scale',
    label: 'Unverified at scale',
    scopes: ['tenant'],
    kind: 'limit',
    quantity: (p) => `a tenant's all-time ${MEASURE_WORDS[p.rules['unverified-at-scale'].measure]}`,
    levels: (p) => [{ level: 1, severity: p.rules['unverified-at-scale'].severity, label: unverifiedLabel(p) }],
    prefilter: {
      text: "KYC not verified and the measure's all-time total reaches `operations`",
      mayFire: (t, risk, p) => p.rules['unverified-at-scale'].enabled && !risk.trusted && totalBound(t, p.rules['unverified-at-scale'].measure) >= p.rules['unverified-at-scale'].operations,
    },
    explanation: 'a tenant whose KYC is not `verified` passes `operations`',
    evaluate: {
      tenant: (c) => {
        const unverified = c.pack.rules['unverified-at-scale'];
        if (!unverified.enabled || c.risk.trusted) return [];
        const id = c.s.tenant.id;
        const observed = measured(c.s.tenant.books.split, unverified.measure);
        if (observed < unverified.operations) return [];
        return [{
          ...limitDraft('unverified-at-scale', id, observed, unverified.operations, 'operations', unverified.severity, observed), ...c.base, measure: c.measureOf(unverified.measure, observed), projectedCrossingAt: null,
          why: `tenant ${id} has KYC status ${c.risk.kycStatus} and ran ${fmtOps(observed)} ${MEASURE_WORDS[unverified.measure]}, past ${fmtOps(unverified.operations)}: verification is overdue`,
        }];
      },
    },
    standing: { tenant: (s, p) => floorStanding('unverified-at-scale', s, p, p.rules['unverified-at-scale'].operations, p.rules['unverified-at-scale'].severity, unverifiedLabel(p)) },
  },
  'parent-in-tier3': {
    rule: 'parent-in-tier3',
    label: 'Parent in Tier 3',
    scopes: ['tenant'],
    kind: 'limit',
    quantity: (p) => `a tenant's all-time ${MEASURE_WORDS[p.rules['parent-in-tier3'].measure]}`,
    levels: (p) => [{ level: 1, severity: p.rules['parent-in-tier3'].severity, label: tier3Label(p) }],
    prefilter: {
      text: "Tier 3 and the measure's all-time total reaches `minOperations`",
      mayFire: (t, risk, p) => p.rules['parent-in-tier3'].enabled && risk.tier === 3 && totalBound(t, p.rules['parent-in-tier3'].measure) >= p.rules['parent-in-tier3'].minOperations,
    },
    explanation: 'a tenant whose HQ, ultimate parent or a beneficial owner is in Tier 3 (or on an entity list) passes a small floor (Red Flag 28)',
    evaluate: {
      tenant: (c) => {
        const tier3 = c.pack.rules['parent-in-tier3'];
        if (!tier3.enabled || c.risk.tier !== 3) return [];
        const id = c.s.tenant.id;
        const observed = measured(c.s.tenant.books.split, tier3.measure);
        if (observed < tier3.minOperations) return [];
        return [{
          ...limitDraft('parent-in-tier3', id, observed, tier3.minOperations, 'operations', tier3.severity, observed), ...c.base, measure: c.measureOf(tier3.measure, observed), projectedCrossingAt: null,
          why: `tenant ${id} is owned or headquartered in Tier 3 (Red Flag 28) and ran ${fmtOps(observed)} ${MEASURE_WORDS[tier3.measure]}, past the ${fmtOps(tier3.minOperations)} floor`,
        }];
      },
    },
    standing: { tenant: (s, p) => floorStanding('parent-in-tier3', s, p, p.rules['parent-in-tier3'].minOperations, p.rules['parent-in-tier3'].severity, tier3Label(p)) },
  },
  // Tier 1 ↔ Tier 2 moves (region-hopping.ts).
  'region-hopping': REGION_HOPPING,
  // Later reports of time counted at a lower rate (disputed-usage.ts).
  'disputed-usage': DISPUTED_USAGE,
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
    // Both parts at least minOperations: the lineage's operations reach twice it.
    rules['region-hopping'].enabled ? 2 * rules['region-hopping'].minOperations : Infinity,
  );
}

/** Level ids of a rule as configured, in order (for severity carried over from lower levels). */
export function ruleLevels(rule: AlertRule, pack: PolicyPack): number[] {
  return RULES[rule].levels(pack).map((l) => l.level);
}

// Evaluation order within a scope, as the rules were evaluated before the table held the evaluators.
const ORDER: Record<AlertScope, AlertRule[]> = {
  tenant: ['tenant-approach', 'unverified-at-scale', 'parent-in-tier3', 'velocity', 'large-untrusted-cluster', 'region-hopping', 'disputed-usage'],
  group: ['structuring', 'velocity', 'disputed-usage'],
  lineage: ['frontier-approach', 'lineage-laundering', 'structuring', 'region-hopping'],
};

/** Every alert a subject's snapshot calls for under the pack (all levels reached; the caller creates the missing ones). */
export function evaluateSubject(snapshot: SubjectSnapshot, pack: PolicyPack): RuleOutcome[] {
  switch (snapshot.scope) {
    case 'tenant': {
      const c = tenantContext(snapshot, pack);
      return ORDER.tenant.flatMap((r) => RULES[r].evaluate.tenant?.(c) ?? []);
    }
    case 'group': {
      const c = groupContext(snapshot, pack);
      return c ? ORDER.group.flatMap((r) => RULES[r].evaluate.group?.(c) ?? []) : [];
    }
    case 'lineage': {
      const c = lineageContext(snapshot, pack);
      return c ? ORDER.lineage.flatMap((r) => RULES[r].evaluate.lineage?.(c) ?? []) : [];
    }
  }
}

/** Whether an alert's level is a fraction of a threshold: its level basis says so, or (older alerts) its rule's kind in the table. */
export function isFractionLevel(a: { rule: AlertRule; levelBasis?: { kind: string } | null | undefined }): boolean {
  return a.levelBasis ? a.levelBasis.kind === 'fraction' : RULES[a.rule].kind === 'threshold';
}

/** Where a subject stands against one rule, or null when the rule is not measured in the subject's scope. */
export function standing(rule: AlertRule, s: SubjectSnapshot, pack: PolicyPack): Standing | null {
  const of = RULES[rule].standing;
  switch (s.scope) {
    case 'tenant':
      return of.tenant?.(s, pack) ?? null;
    case 'group':
      return of.group?.(s, pack) ?? null;
    case 'lineage':
      return of.lineage?.(s, pack) ?? null;
  }
}

/** Where a subject stands against every rule measured in its scope, in table order. */
export function standings(s: SubjectSnapshot, pack: PolicyPack): Standing[] {
  return (Object.keys(RULES) as AlertRule[]).flatMap((rule) => standing(rule, s, pack) ?? []);
}

/**
 * Where a subject stands for one threshold rule in a scope it raises alerts for: the measured
 * operations, the threshold, and the burn rate and projected crossing of the same measure (exposure
 * metrics and dashboards). Null for rules whose level is not a fraction of a threshold, or a scope they lack.
 */
export function ruleStanding(rule: AlertRule, s: SubjectSnapshot, pack: PolicyPack): { operations: number; threshold: number; perDay: number; projectedCrossingAt: string | null } | null {
  if (RULES[rule].kind !== 'threshold' || !RULES[rule].scopes.includes(s.scope)) return null;
  const st = standing(rule, s, pack);
  return st && { operations: st.measured, threshold: st.threshold, perDay: st.perDay, projectedCrossingAt: st.projectedCrossingAt };
}
