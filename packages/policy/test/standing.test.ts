import { describe, expect, it } from 'vitest';
import type { SubjectSnapshot } from '@flopwatch/contracts';
import { RULES, isFractionLevel, standing, standings } from '../src/index.js';
import { DAY, HOUR, packWith, splitOf, tenant } from './snapshots.js';

// Where a subject stands against each rule, as the rule measures it: the figures are the test's own
// arithmetic over the uses it made.

const E = Date.UTC(2026, 10, 20, 12);
const iso = (ms: number) => new Date(ms).toISOString();

// 2e25 on controlled Tier 1 hardware in the US 10 days ago, 1e25 on Tier 2 hardware in Singapore in the
// last hour, 4e24 on uncontrolled hardware in the last hour.
const uses = [
  { operations: 2e25, endMs: E - 10 * DAY, country: 'US', tier: 1 as const },
  { operations: 1e25, endMs: E - HOUR, country: 'SG', tier: 2 as const },
  { operations: 4e24, endMs: E - HOUR, country: 'US', tier: 1 as const, controlled: false },
];
const t = tenant('t', uses, { hqCountry: 'SG', kycStatus: 'unverified' }, 2000);
const asTenant: SubjectSnapshot = { scope: 'tenant', subject: 't', asOfMs: E, tenant: t };

describe('standing', () => {
  it('measures tenant-approach with its own measure and levels, burning the same measure', () => {
    const pack = packWith({ 'tenant-approach': { measure: 'controlled', levels: [{ fraction: 0.2, severity: 'low' }, { fraction: 0.5, severity: 'high' }] } });
    const s = standing('tenant-approach', asTenant, pack)!;
    const observed = 2e25 + 1e25; // controlled, any country, within 365 days
    const perDay = 1e25; // controlled in the trailing 24 h
    expect(s).toMatchObject({ rule: 'tenant-approach', scope: 'tenant', measure: 'controlled', measured: observed, threshold: 1e26, perDay });
    expect(s.levels).toEqual([
      { level: 0.2, severity: 'low', label: '20 % of the threshold', operations: 2e25, reached: true, projectedAt: null },
      { level: 0.5, severity: 'high', label: '50 % of the threshold', operations: 5e25, reached: false, projectedAt: iso(E + ((5e25 - observed) / perDay) * DAY) },
    ]);
    expect(s.projectedCrossingAt).toBe(iso(E + ((1e26 - observed) / perDay) * DAY));
  });

  it('projects frontier-approach at its own measure\'s burn rate, not another rule\'s', () => {
    const pack = packWith({ 'tenant-approach': { measure: 'controlledTier1' }, 'frontier-approach': { measure: 'all', levels: [{ fraction: 0.5, severity: 'medium' }] } });
    const s = standing('frontier-approach', asTenant, pack)!;
    const observed = 2e25 + 1e25 + 4e24;
    const perDay = 1e25 + 4e24; // all hardware in the trailing 24 h (controlled Tier 1 burned nothing)
    const frontier = pack.thresholds.frontier.operations;
    expect(s).toMatchObject({ measure: 'all', measured: observed, threshold: frontier, perDay });
    expect(s.levels).toEqual([{ level: 0.5, severity: 'medium', label: '50 % of the threshold', operations: 0.5 * frontier, reached: observed >= 0.5 * frontier, projectedAt: iso(E + ((0.5 * frontier - observed) / perDay) * DAY) }]);
  });

  it('gives limit rules one level at their limit and velocity its bands', () => {
    const pack = packWith({ velocity: { measure: 'all', bands: [{ withinDays: 30, severity: 'low' }, { withinDays: 7, severity: 'high' }] } });
    const cluster = standing('large-untrusted-cluster', asTenant, pack)!;
    expect(cluster).toMatchObject({ quantity: 'h100e', measured: 2000, threshold: pack.rules['large-untrusted-cluster'].maxH100e });
    expect(cluster.levels.map((l) => l.reached)).toEqual([2000 > pack.rules['large-untrusted-cluster'].maxH100e]);
    const unverified = standing('unverified-at-scale', asTenant, pack)!;
    expect(unverified).toMatchObject({ quantity: 'operations', measured: 2e25, threshold: pack.rules['unverified-at-scale'].operations });
    expect(unverified.levels[0]!.reached).toBe(2e25 >= pack.rules['unverified-at-scale'].operations);

    const v = standing('velocity', asTenant, pack)!;
    const observed = 2e25 + 1e25 + 4e24;
    const days = (1e26 - observed) / (1e25 + 4e24); // 4.71 days: within both bands
    expect(v.projectedCrossingAt).toBe(iso(E + days * DAY));
    expect(v.levels.map((l) => [l.level, l.severity, l.reached])).toEqual([[1, 'low', days <= Math.min(30, pack.rules.velocity.horizonDays)], [2, 'high', days <= Math.min(7, pack.rules.velocity.horizonDays)]]);
  });

  it('answers for every rule in a scope it is measured in, with the table\'s level text', () => {
    const pack = packWith();
    const group: SubjectSnapshot = { scope: 'group', subject: 'g', asOfMs: E, members: [t, tenant('u', [{ operations: 1e24, endMs: E - DAY }])] };
    const lineage: SubjectSnapshot = { scope: 'lineage', subject: 'L', asOfMs: E, tenants: [t], lineage: { id: 'L', own: { t: splitOf(uses) }, ancestors: [], edges: [], baseModelOperations: 0 } };
    for (const s of [asTenant, group, lineage]) {
      const all = standings(s, pack);
      expect(all.map((x) => x.rule)).toEqual(Object.values(RULES).filter((r) => r.standing[s.scope]).map((r) => r.rule));
      for (const x of all) expect(x.levels.map((l) => [l.level, l.severity, l.label])).toEqual(RULES[x.rule].levels(pack).map((l) => [l.level, l.severity, l.label]));
    }
    // A group's summed members: tenant-approach's measure (controlled Tier 1) in the trailing window.
    expect(standing('tenant-approach', group, pack)!.measured).toBe(2e25 + 1e24);
    expect(standing('lineage-laundering', group, pack)).toBeNull();
  });

  it('tells a fraction level by its basis, and an older alert without one by its rule\'s kind', () => {
    expect(isFractionLevel({ rule: 'velocity', levelBasis: { kind: 'band' } })).toBe(false);
    expect(isFractionLevel({ rule: 'structuring', levelBasis: { kind: 'fraction' } })).toBe(true);
    expect(isFractionLevel({ rule: 'unverified-at-scale', levelBasis: { kind: 'limit' } })).toBe(false);
    expect(['frontier-approach', 'tenant-approach', 'structuring', 'lineage-laundering', 'velocity', 'large-untrusted-cluster', 'unverified-at-scale', 'parent-in-tier3'].filter((rule) => isFractionLevel({ rule: rule as keyof typeof RULES })))
      .toEqual(['frontier-approach', 'tenant-approach', 'structuring', 'lineage-laundering']);
  });
});
