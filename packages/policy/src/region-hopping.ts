import { alertId, type HardwareSplit, type SubjectSnapshot } from '@flopwatch/contracts';
import { MEASURE_WORDS } from './measure.js';
import type { PolicyPack } from './pack-schema.js';
import type { RuleEntry } from './rules.js';
import { fmtOps, lineageCumulative, limitDraft, limitStanding, pct, untrusted, type RuleOutcome, type Standing } from './subject.js';

// Region hopping (docs/detection.md): a tenant's or a lineage's training that moves between
// Tier 1 and Tier 2 regions. Under the default measure (controlledTier1) a run moved half into a Tier 2
// region is measured at its Tier 1 half only, by design; this rule flags the move itself, with both
// parts — operations on any hardware in Tier 1 and in Tier 2 countries, by country — in the evidence.
// The measured quantity is the smaller part: both reach `minOperations` once it does.

/** The Tier 1 and Tier 2 parts of a split, each with its countries. */
export function tierParts(split: HardwareSplit, pack: PolicyPack): { tier1: number; tier2: number; countries: { 1: string[]; 2: string[] } } {
  const tier1 = split.byTier['1'] ?? 0;
  const tier2 = split.byTier['2'] ?? 0;
  const t1 = new Set(pack.countries.tier1);
  const t3 = new Set(pack.countries.tier3);
  const used = Object.entries(split.byCountry).filter(([, v]) => v > 0).map(([c]) => c).sort();
  return { tier1, tier2, countries: { 1: used.filter((c) => t1.has(c)), 2: used.filter((c) => !t1.has(c) && !t3.has(c)) } };
}

const label = (p: PolicyPack) => `both parts at least ${p.rules['region-hopping'].minOperations.toExponential(0)} operations`;

function why(kind: string, id: string, parts: ReturnType<typeof tierParts>, min: number): string {
  const total = parts.tier1 + parts.tier2;
  return `${kind} ${id} trained in Tier 1 and Tier 2 regions: ${fmtOps(parts.tier1)} operations in Tier 1 (${parts.countries[1].join(', ') || '—'}, ${pct(parts.tier1, total)}) and ${fmtOps(parts.tier2)} in Tier 2 (${parts.countries[2].join(', ') || '—'}, ${pct(parts.tier2, total)}), each past ${fmtOps(min)}; the ${MEASURE_WORDS.controlledTier1} measure counts the Tier 1 part only`;
}

function standingOf(s: SubjectSnapshot, split: HardwareSplit, pack: PolicyPack): Standing {
  const rule = pack.rules['region-hopping'];
  const parts = tierParts(split, pack);
  return limitStanding(s, { rule: 'region-hopping', measure: 'all', quantity: 'operations', measured: Math.min(parts.tier1, parts.tier2), threshold: rule.minOperations, perDay: 0, severity: rule.severity, label: label(pack) });
}

export const REGION_HOPPING: RuleEntry = {
  rule: 'region-hopping',
  label: 'Region hopping',
  scopes: ['tenant', 'lineage'],
  kind: 'limit',
  quantity: () => "the smaller of a subject's two parts: operations (any hardware) in Tier 1 countries and in Tier 2 countries; a lineage's own and its ancestors'",
  levels: (p) => [{ level: 1, severity: p.rules['region-hopping'].severity, label: label(p) }],
  prefilter: {
    text: 'untrusted and half the all-time total (any hardware) reaches `minOperations`; lineages: as frontier-approach, with twice `minOperations` as a floor',
    mayFire: (t, risk, p) => p.rules['region-hopping'].enabled && untrusted(risk) && t.operations / 2 >= p.rules['region-hopping'].minOperations,
  },
  explanation: 'an untrusted tenant or lineage trains in Tier 1 and in Tier 2 regions, both parts at least `minOperations` (the default measure counts only the Tier 1 part of such a run); both parts are in the evidence',
  evaluate: {
    tenant: (c): RuleOutcome[] => {
      const rule = c.pack.rules['region-hopping'];
      if (!rule.enabled || !untrusted(c.risk)) return [];
      const { id, books } = c.s.tenant;
      const parts = tierParts(books.split, c.pack);
      const observed = Math.min(parts.tier1, parts.tier2);
      if (observed < rule.minOperations) return [];
      return [{
        ...limitDraft('region-hopping', id, observed, rule.minOperations, 'operations', rule.severity, parts.tier1 + parts.tier2), ...c.base,
        measure: c.measureOf('all', books.split.all), projectedCrossingAt: null,
        why: why('tenant', id, parts, rule.minOperations),
      }];
    },
    lineage: (c): RuleOutcome[] => {
      const rule = c.pack.rules['region-hopping'];
      if (!rule.enabled) return [];
      const parts = tierParts(c.cumulative.split, c.pack);
      const observed = Math.min(parts.tier1, parts.tier2);
      if (observed < rule.minOperations) return [];
      const id = c.s.lineage.id;
      return [{
        draft: { id: alertId({ rule: 'region-hopping', scope: 'lineage', subject: id, level: 1 }), rule: 'region-hopping', scope: 'lineage', subject: id, level: 1, threshold: rule.minOperations, severity: rule.severity, observedOperations: parts.tier1 + parts.tier2 },
        levelBasis: { kind: 'limit', quantity: 'operations', observed, limit: rule.minOperations },
        kycTenant: c.worst, tenants: c.cumulative.byTenant, measure: c.measureOf('all'), projectedCrossingAt: null,
        why: why('lineage', c.ancestry, parts, rule.minOperations),
      }];
    },
  },
  standing: {
    tenant: (s, p) => standingOf(s, s.tenant.books.split, p),
    lineage: (s, p) => standingOf(s, lineageCumulative(s.lineage).split, p),
  },
};
