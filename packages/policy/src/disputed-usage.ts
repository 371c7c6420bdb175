import type { Measure, SubjectSnapshot, TenantSnapshot } from '@flopwatch/contracts';
import { MEASURE_WORDS } from './measure.js';
import type { PolicyPack } from './pack-schema.js';
import type { PrefilterTotals, RuleEntry } from './rules.js';
import { fmtOps, fractionLabel, leveled, lowest, meter, pct, thresholdDrafts, thresholdStanding, untrusted, type RuleOutcome, type Standing } from './subject.js';

// Disputed usage (docs/detection.md, "pre-cover"): the books keep the first report of a slice's time,
// so a client that pre-covers each slice with a cheap report has its real, later reports counted
// nothing; each is a recorded conflict. The books keep the disputed excess of every conflict (what
// the later report claims over the overlap above what was counted there). This rule measures a
// subject as if the disputed reports had counted: its counted trailing-window operations plus the
// disputed excess, against thresholds.tenant, once the disputed excess alone reaches `minOperations`
// (two honest exporters that disagree by a few percent stay far below it; a tenant with no conflicts
// has none). Below that floor the rule measures the disputed excess alone, so it shows nothing reached.

type Snap = Extract<SubjectSnapshot, { scope: 'tenant' | 'group' }>;

const disputedOf = (tenants: TenantSnapshot[], m: Measure) => tenants.reduce((a, t) => a + (t.books.conflicts?.disputed[m] ?? 0), 0);

/** What the rule measures over some tenants: counted (trailing window) plus disputed once the disputed part reaches the floor. */
function measuredOf(tenants: TenantSnapshot[], asOfMs: number, pack: PolicyPack) {
  const rule = pack.rules['disputed-usage'];
  const disputed = disputedOf(tenants, rule.measure);
  const mt = meter(tenants, asOfMs, pack);
  const counted = mt.windowed(rule.measure);
  const flagged = disputed >= rule.minOperations && disputed > 0;
  return { disputed, counted, flagged, observed: flagged ? counted + disputed : disputed, perDay: mt.perDay(rule.measure) };
}

const rate = (r: number) => String(Number(r.toPrecision(3)));

/** The evidence in words: conflicts, conflicting GPU-hours, disputed operations, the latest conflicting reports. */
function evidence(tenants: TenantSnapshot[], m: Measure): string {
  const count = tenants.reduce((a, t) => a + (t.books.conflicts?.count ?? 0), 0);
  const gpuHours = tenants.reduce((a, t) => a + (t.books.conflicts?.gpuSeconds ?? 0), 0) / 3600;
  const latest = tenants.flatMap((t) => (t.books.conflicts?.latest ?? []).map((c) => ({ t: t.id, c }))).sort((a, b) => b.c.endMs - a.c.endMs).slice(0, 3);
  const records = latest.map(({ t, c }) =>
    `${tenants.length > 1 ? `${t} ` : ''}${c.jobId}${c.node ? ` ${c.node}` : ''} ${new Date(c.startMs).toISOString()}–${new Date(c.endMs).toISOString()} ${c.measured ? 'measured' : 'allocated'} counted ${rate(c.countedTeraOpsPerMs)} vs reported ${rate(c.reportedTeraOpsPerMs)} tera-ops/ms${c.source ? ` (${c.source}${c.eventId ? ` ${c.eventId}` : ''})` : ''}`);
  return `${count} conflicting reports over ${Math.round(gpuHours).toLocaleString('en-US')} GPU-hours dispute ${fmtOps(disputedOf(tenants, m))} ${MEASURE_WORDS[m]} the books did not count${records.length ? `; latest: ${records.join('; ')}` : ''}`;
}

function standingOf(s: Snap, pack: PolicyPack): Standing {
  const m = pack.rules['disputed-usage'].measure;
  const x = measuredOf(s.scope === 'tenant' ? [s.tenant] : s.members, s.asOfMs, pack);
  return thresholdStanding(s, { rule: 'disputed-usage', measure: m, measured: x.observed, threshold: pack.thresholds.tenant.operations, perDay: x.flagged ? x.perDay : 0 }, leveled(pack, 'disputed-usage'));
}

/**
 * Conflicting reports only move the disputed excess, so a call with a conflict may raise the rule; so
 * may one whose counted trailing window reaches the lowest level (counted plus an earlier dispute).
 */
function mayFire(t: PrefilterTotals, risk: Parameters<NonNullable<RuleEntry['prefilter']['mayFire']>>[1], p: PolicyPack): boolean {
  const rule = p.rules['disputed-usage'];
  if (!rule.enabled || !untrusted(risk)) return false;
  const counted = rule.measure === 'controlledTier1' ? t.controlledTier1Operations : t.operations;
  return (t.conflicts ?? 0) > 0 || counted >= p.thresholds.tenant.operations * lowest(leveled(p, 'disputed-usage'));
}

export const DISPUTED_USAGE: RuleEntry = {
  rule: 'disputed-usage',
  label: 'Disputed usage',
  scopes: ['tenant', 'group'],
  kind: 'threshold',
  quantity: (p) => `a subject's ${MEASURE_WORDS[p.rules['disputed-usage'].measure]} in the trailing thresholds.tenant.windowDays plus the disputed excess of its conflicting reports (what each claims over its overlap above what the books counted), once that excess alone reaches \`minOperations\`; the excess alone below it`,
  levels: (p) => leveled(p, 'disputed-usage').map((l) => ({ level: l.fraction, severity: l.severity, label: fractionLabel(l) })),
  prefilter: {
    text: "untrusted and the call had a conflicting report (the disputed excess moves only then), or the measure's all-time total reaches the lowest level; below that, a level crossed by counted usage between conflicts is raised at the tenant's next conflict or evaluation",
    mayFire,
  },
  explanation: 'an untrusted tenant (or a group, summed) whose later reports of time already counted at a lower rate — a client pre-covering its slices with cheap reports — dispute at least `minOperations`; measured as if they had counted, against each level of `thresholds.tenant` (the pack gives it its own, lower levels); the evidence names the conflicts, their GPU-hours, the disputed operations and the latest conflicting reports',
  evaluate: {
    tenant: (c): RuleOutcome[] => {
      const { pack, s } = c;
      const rule = pack.rules['disputed-usage'];
      if (!rule.enabled || !untrusted(c.risk)) return [];
      const x = measuredOf([s.tenant], s.asOfMs, pack);
      if (!x.flagged) return [];
      const id = s.tenant.id;
      return thresholdDrafts('disputed-usage', 'tenant', id, x.observed, pack.thresholds.tenant.operations, leveled(pack, 'disputed-usage')).map((d) => ({
        ...d, ...c.base, measure: c.measureOf(rule.measure, x.observed), projectedCrossingAt: null,
        why: `tenant ${id} stands at ${fmtOps(x.observed)} ${MEASURE_WORDS[rule.measure]} (${pct(x.observed, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}) counting its disputed reports: ${fmtOps(x.counted)} counted in the trailing ${pack.thresholds.tenant.windowDays} days; ${evidence([s.tenant], rule.measure)}`,
      }));
    },
    group: (c): RuleOutcome[] => {
      const { pack, s } = c;
      const rule = pack.rules['disputed-usage'];
      if (!rule.enabled) return [];
      const x = measuredOf(s.members, s.asOfMs, pack);
      if (!x.flagged) return [];
      const tenants = Object.fromEntries(s.members.map((t) => [t.id, meter([t], s.asOfMs, pack).windowed(rule.measure) + disputedOf([t], rule.measure)]));
      return thresholdDrafts('disputed-usage', 'group', s.subject, x.observed, pack.thresholds.tenant.operations, leveled(pack, 'disputed-usage')).map((d) => ({
        ...d, kycTenant: c.worst, tenants, measure: { name: rule.measure, operations: x.observed, split: c.split }, projectedCrossingAt: null,
        why: `${c.ids.length} linked tenants [${c.ids.join(', ')}] stand at ${fmtOps(x.observed)} ${MEASURE_WORDS[rule.measure]} together (${pct(x.observed, d.draft.threshold)} of ${fmtOps(d.draft.threshold)}) counting their disputed reports: ${fmtOps(x.counted)} counted in the trailing ${pack.thresholds.tenant.windowDays} days; ${evidence(s.members, rule.measure)}`,
      }));
    },
  },
  standing: { tenant: standingOf, group: standingOf },
};
