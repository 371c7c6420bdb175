import { describe, expect, it } from 'vitest';
import type { SubjectSnapshot } from '@flopwatch/contracts';
import { evaluateSubject, tenantRisk, type PolicyPack, type RuleOutcome } from '../src/index.js';
import { pack } from './fixtures.js';
import { DAY, HOUR, edge, packWith, splitOf, tenant } from './snapshots.js';

// Every rule over hand-written snapshots, with the alerts each one calls for written out:
// [rule, scope, subject, level, severity]. Figures below are the test's own arithmetic.

const E = Date.UTC(2026, 10, 20, 12); // the evaluation's event time in most cases
const H100_HOUR = 989.4e12 * 3600 * 0.4; // one H100 for one hour at 40 % of the bf16 dense peak
const US_HOUR = 8 * H100_HOUR; // 8 H100s for one hour in the US: 1.14e19
const ALL_LEVELS = [[0.1, 'info'], [0.25, 'low'], [0.5, 'medium'], [0.8, 'high'], [0.9, 'high'], [1, 'critical']] as const;
const every = (rule: string, scope: string, subject: string) => ALL_LEVELS.map(([l, s]) => [rule, scope, subject, l, s]);

const rows = (outcomes: RuleOutcome[]) => outcomes.map((o) => [o.draft.rule, o.draft.scope, o.draft.subject, o.draft.level, o.draft.severity]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
const sorted = (r: unknown[][]) => [...r].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

// The Singapore case: an untrusted (Singapore, Tier 2) tenant runs 1.2e26 on H100s in Singapore and
// one hour on 8 H100s in the US.
const sgUses = [
  { operations: 1.2e26, endMs: E - 10 * DAY, country: 'SG', tier: 2 as const },
  { operations: US_HOUR, endMs: E - HOUR, country: 'US', tier: 1 as const },
];
const sg = tenant('sg', sgUses);
const sgTenant: SubjectSnapshot = { scope: 'tenant', subject: 'sg', asOfMs: E, tenant: sg };
const sgLineage: SubjectSnapshot = { scope: 'lineage', subject: 'sg/model', asOfMs: E, tenants: [sg], lineage: { id: 'sg/model', own: { sg: splitOf(sgUses) }, ancestors: [], edges: [], baseModelOperations: 0 } };

const cn = tenant('cn', [{ operations: 3e25, endMs: E - 5 * DAY }], { ultimateParent: { name: 'Dragon Holdings', country: 'CN' } });
const members = ['m1', 'm2', 'm3'].map((id) => tenant(id, [{ operations: 9e24, endMs: E - 3 * DAY, country: id === 'm2' ? 'DE' : 'US' }]));
const t2Only = tenant('m4', [{ operations: 5e25, endMs: E - 3 * DAY, country: 'SG', tier: 2 }]);

// A lineage graph: L declares parent A and resumed from checkpoint ck-1 that B wrote; A also declares
// B. B is reachable on two paths and counts once: 6e25 + 2e25 + 3e25 = 1.1e26 on controlled Tier 1.
const shell = tenant('shell', [{ operations: 6e25, endMs: E - DAY }]);
const labA = tenant('lab-a', [{ operations: 2e25, endMs: E - 20 * DAY }], { hqCountry: 'US' });
const labB = tenant('lab-b', [{ operations: 3e25, endMs: E - 30 * DAY }], { hqCountry: 'US' });
const graph: SubjectSnapshot = {
  scope: 'lineage', subject: 'L', asOfMs: E, tenants: [shell, labA, labB],
  lineage: {
    id: 'L',
    own: { shell: splitOf([{ operations: 6e25, endMs: E - DAY }]) },
    ancestors: [{ id: 'A', own: { 'lab-a': splitOf([{ operations: 2e25, endMs: E - 20 * DAY }]) } }, { id: 'B', own: { 'lab-b': splitOf([{ operations: 3e25, endMs: E - 30 * DAY }]) } }],
    edges: [edge('L', 'A'), edge('L', 'B', 'checkpoint', 'ck-1', 'shell'), edge('A', 'B')],
    baseModelOperations: 0,
  },
};

const cases: { name: string; snapshot: SubjectSnapshot; pack: PolicyPack; expected: unknown[][] }[] = [
  { name: 'Singapore tenant, default pack (controlled Tier 1): nothing', snapshot: sgTenant, pack, expected: [] },
  { name: 'Singapore lineage, default pack: nothing', snapshot: sgLineage, pack, expected: [] },
  { name: 'Singapore tenant, tenant-approach measuring controlled hardware anywhere: every level', snapshot: sgTenant, pack: packWith({ 'tenant-approach': { measure: 'controlled' } }), expected: every('tenant-approach', 'tenant', 'sg') },
  { name: 'Singapore tenant, tenant-approach measuring all hardware: every level', snapshot: sgTenant, pack: packWith({ 'tenant-approach': { measure: 'all' } }), expected: every('tenant-approach', 'tenant', 'sg') },
  { name: 'Singapore lineage, frontier-approach measuring controlled hardware: every level', snapshot: sgLineage, pack: packWith({ 'frontier-approach': { measure: 'controlled' } }), expected: every('frontier-approach', 'lineage', 'sg/model') },
  {
    // 3e25 ≥ 0.25 × 1e26; burning 3e25 in the last 24 h leaves 7e25 / 3e25 = 2.33 days: band 3 (≤ 7 days).
    name: 'Tier 3-owned tenant burning fast: tenant-approach to 25 %, parent-in-tier3, velocity band 3',
    snapshot: { scope: 'tenant', subject: 'cn', asOfMs: E - 5 * DAY, tenant: cn }, pack,
    expected: [['tenant-approach', 'tenant', 'cn', 0.1, 'info'], ['tenant-approach', 'tenant', 'cn', 0.25, 'low'], ['parent-in-tier3', 'tenant', 'cn', 1, 'high'], ['velocity', 'tenant', 'cn', 3, 'high']],
  },
  {
    name: 'the same tenant two days after it stopped: its burn rate has decayed, no velocity',
    snapshot: { scope: 'tenant', subject: 'cn', asOfMs: E - 3 * DAY, tenant: cn }, pack,
    expected: [['tenant-approach', 'tenant', 'cn', 0.1, 'info'], ['tenant-approach', 'tenant', 'cn', 0.25, 'low'], ['parent-in-tier3', 'tenant', 'cn', 1, 'high']],
  },
  {
    // 2e23 a day: (1e26 - 2e23) / 2e23 = 499 days, beyond the 30-day horizon.
    name: 'pending US tenant past 10^23: unverified-at-scale only',
    snapshot: { scope: 'tenant', subject: 'pend', asOfMs: E, tenant: tenant('pend', [{ operations: 2e23, endMs: E }], { hqCountry: 'US', kycStatus: 'pending' }) }, pack,
    expected: [['unverified-at-scale', 'tenant', 'pend', 1, 'medium']],
  },
  {
    name: 'untrusted tenant holding 2,000 H100e: large-untrusted-cluster',
    snapshot: { scope: 'tenant', subject: 'big', asOfMs: E + 2 * DAY, tenant: tenant('big', [{ operations: 1e22, endMs: E }], {}, 2000) }, pack,
    expected: [['large-untrusted-cluster', 'tenant', 'big', 1, 'high']],
  },
  {
    name: 'verified US validated end user at 5e26: trusted, nothing',
    snapshot: { scope: 'tenant', subject: 'veu', asOfMs: E, tenant: tenant('veu', [{ operations: 5e26, endMs: E }], { hqCountry: 'US', validatedEndUser: true }) }, pack,
    expected: [],
  },
  {
    // 3 × 9e24 = 2.7e25 on controlled Tier 1 (m4's 5e25 ran in Singapore); the largest, 9e24, is under 1e25.
    name: 'group of four, three on US/DE H100s: structuring at 10 % and 25 %',
    snapshot: { scope: 'group', subject: 'g1', asOfMs: E, members: [...members, t2Only] }, pack,
    expected: [['structuring', 'group', 'g1', 0.1, 'info'], ['structuring', 'group', 'g1', 0.25, 'low']],
  },
  {
    name: 'lineage graph through a declared parent and a checkpoint: every ancestor once, frontier-approach and lineage-laundering to 100 %',
    snapshot: graph, pack,
    expected: [...every('frontier-approach', 'lineage', 'L'), ...every('lineage-laundering', 'lineage', 'L')],
  },
];

describe('rule table over hand-written snapshots', () => {
  it.each(cases)('$name', ({ snapshot, pack: p, expected }) => {
    expect(rows(evaluateSubject(snapshot, p))).toEqual(sorted(expected));
  });

  it('shows the measured quantity and its split in the evidence (Singapore case, controlled measure)', () => {
    const out = evaluateSubject(sgTenant, packWith({ 'tenant-approach': { measure: 'controlled' } }));
    const top = out.find((o) => o.draft.level === 1)!;
    expect(top.measure).toEqual({ name: 'controlled', operations: 1.2e26 + US_HOUR, split: { all: 1.2e26 + US_HOUR, controlled: 1.2e26 + US_HOUR, controlledTier1: US_HOUR, byTier: { 1: US_HOUR, 2: 1.2e26 }, byCountry: { US: US_HOUR, SG: 1.2e26 } } });
    expect(top.levelBasis).toEqual({ kind: 'fraction', fraction: 1 });
    expect(top.why).toContain('operations on controlled (3A090) hardware in any country');
  });

  it('says what a band and a limit level mean', () => {
    const out = evaluateSubject({ scope: 'tenant', subject: 'cn', asOfMs: E - 5 * DAY, tenant: cn }, pack);
    const v = out.find((o) => o.draft.rule === 'velocity')!;
    expect(v.levelBasis).toEqual({ kind: 'band', band: 3, withinDays: 7, daysToCross: 7e25 / 3e25 });
    expect(v.projectedCrossingAt).toBe(new Date(E - 5 * DAY + (7e25 / 3e25) * DAY).toISOString());
    expect(out.find((o) => o.draft.rule === 'parent-in-tier3')!.levelBasis).toEqual({ kind: 'limit', quantity: 'operations', observed: 3e25, limit: 1e21 });
    const cluster = evaluateSubject({ scope: 'tenant', subject: 'big', asOfMs: E, tenant: tenant('big', [{ operations: 1e22, endMs: E }], {}, 2000) }, pack)[0]!;
    expect(cluster.levelBasis).toEqual({ kind: 'limit', quantity: 'h100e', observed: 2000, limit: 1699 });
  });

  it('counts every ancestor of the graph once and names the checkpoint link', () => {
    const out = evaluateSubject(graph, pack);
    const top = out.find((o) => o.draft.rule === 'lineage-laundering' && o.draft.level === 1)!;
    expect(top.draft.observedOperations).toBe(6e25 + 2e25 + 3e25);
    expect(top.tenants).toEqual({ shell: 6e25, 'lab-a': 2e25, 'lab-b': 3e25 });
    expect(top.why).toContain('L started from checkpoint ck-1 written by B (read by tenant shell)');
  });

  it('does not list validatedEndUser among the reasons a tenant is untrusted', () => {
    const risk = tenantRisk(tenant('veu', [], { hqCountry: 'US', validatedEndUser: true }).record!, pack);
    expect(risk).toMatchObject({ tier: 1, trusted: true, reasons: [] });
    const pending = tenantRisk(tenant('p', [], { hqCountry: 'US', kycStatus: 'pending', validatedEndUser: true }).record!, pack);
    expect(pending.reasons).toEqual(['KYC status is pending; only verified tenants are trusted']);
  });
});
