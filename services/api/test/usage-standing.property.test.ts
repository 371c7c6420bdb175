import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASURES, type AlertRule, type SubjectSnapshot } from '@flopwatch/contracts';
import { RULES, standing, type Level, type PolicyPack } from '@flopwatch/policy';
import type { UsageRecord } from '@flopwatch/store';
import { auth, startApi, tenant, type TestApi } from './helpers.js';

// The API's usage and lineage answers are the rules' standing: for every rule measured in a scope, the
// answer's `standing` is policy's, and its projections are tenant-approach's and frontier-approach's
// own levels, measure and burn rate — under packs that set each rule's measure, levels and burn window.

const NOW = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 86_400_000;
let api: TestApi;
let groupId: string;

let offset = 0;
function record(tenantId: string, endMs: number, tera: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    offset: String(offset++), tenantId, jobKey: `c/${tenantId}-${endMs}`, node: null, startMs: endMs - HOUR, endMs,
    teraOpsPerMs: tera / HOUR, upperTeraOpsPerMs: (2 * tera) / HOUR, milliGpus: 8000, lineageId: null,
    country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, controlled: true, h100e: 8, ...over,
  };
}
const sg = { country: 'SG', tier: 2 as const, controlledTier1: false, controlled: true };
const uncontrolled = { controlledTier1: false, controlled: false, acceleratorId: 'nvidia-rtx-4090' };

beforeAll(async () => {
  api = await startApi({ now: () => new Date(NOW) });
  const put = (path: string, body: object) => api.app.inject({ method: 'PUT', url: path, headers: auth('admin'), payload: body });
  await put('/v1/tenants/solo', tenant('solo', { hqCountry: 'SG', kycStatus: 'unverified' }));
  const shared = { identifiers: { paymentFingerprints: [], contactDomains: ['shell.example'] } };
  await put('/v1/tenants/g-a', tenant('g-a', shared));
  groupId = (await put('/v1/tenants/g-b', tenant('g-b', { ...shared, hqCountry: 'SG' }))).json().groupChanges[0].groupId;
  await put('/v1/lineages/base', { parentId: null, baseModel: null, notes: '' });
  await put('/v1/lineages/lin', { parentId: 'base', baseModel: null, notes: '' });
  await api.store.accounting.applyBatch([
    record('solo', NOW - 10 * DAY, 5_000_000, { lineageId: 'base' }),
    record('solo', NOW - 26 * HOUR, 4_000_000),
    record('solo', NOW - 3 * HOUR, 6_000_000, { ...sg, lineageId: 'lin' }),
    record('solo', NOW - 2 * HOUR, 8_000_000, { lineageId: 'lin' }),
    record('solo', NOW - 4 * HOUR, 1_000_000, uncontrolled),
    record('g-a', NOW - 5 * DAY, 7_000_000, { lineageId: 'lin' }),
    record('g-a', NOW - 6 * HOUR, 2_000_000, sg),
    record('g-b', NOW - 30 * HOUR, 3_000_000, uncontrolled),
    record('g-b', NOW - HOUR, 9_000_000, { lineageId: 'base' }),
  ]);
});
afterAll(async () => api?.close());

const levels = fc.uniqueArray(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 })
  .chain((ps) => fc.tuple(...[...ps].sort((a, b) => a - b).map((p) => fc.constantFrom('info', 'low', 'medium', 'high', 'critical').map((severity) => ({ fraction: p / 100, severity })))))
  .map((ls) => ls as Level[]);
const leveledRule = fc.record({ measure: fc.constantFrom(...MEASURES), levels: fc.option(levels, { nil: undefined }) });
const packs = fc.record({
  levels,
  tenantOps: fc.constantFrom(1e19, 5e19, 1e20, 1e26),
  frontierOps: fc.constantFrom(2e19, 1e20, 1e26),
  windowDays: fc.constantFrom(1, 7, 365),
  burnWindowDays: fc.constantFrom(1, 2, 7),
  rules: fc.record({ 'tenant-approach': leveledRule, 'frontier-approach': leveledRule, structuring: leveledRule, 'lineage-laundering': leveledRule, velocity: fc.record({ measure: fc.constantFrom(...MEASURES) }) }),
});

type Generated = typeof packs extends fc.Arbitrary<infer T> ? T : never;

/** The default pack with the generated settings. */
function packOf(g: Generated, base: PolicyPack): PolicyPack {
  const p = structuredClone(base);
  p.levels = g.levels;
  p.thresholds.tenant.operations = g.tenantOps;
  p.thresholds.tenant.windowDays = g.windowDays;
  p.thresholds.frontier.operations = g.frontierOps;
  p.rules.velocity.burnWindowDays = g.burnWindowDays;
  p.rules.velocity.measure = g.rules.velocity.measure;
  for (const rule of ['tenant-approach', 'frontier-approach', 'structuring', 'lineage-laundering'] as const) {
    const { measure, levels: own } = g.rules[rule];
    p.rules[rule].measure = measure;
    if (own) p.rules[rule].levels = own;
    else delete p.rules[rule].levels;
  }
  return p;
}

const get = async (url: string) => {
  const res = await api.app.inject({ url, headers: auth('viewer') });
  expect(res.statusCode).toBe(200);
  return res.json();
};

describe('the usage answer and the rules', () => {
  it("equals the rules' standing for every rule and scope, under packs that set each rule's measure and levels", async () => {
    const base = structuredClone(api.pack);
    await fc.assert(fc.asyncProperty(packs, async (g) => {
      const pack = packOf(g, base);
      Object.assign(api.pack, pack);
      const reader = api.store.snapshots.reader({ now: () => NOW });
      const answers: [SubjectSnapshot, { standing: unknown[]; projections?: { threshold: string; rule: string; level: number; severity: string; operations: number }[]; burnRate?: { operationsPerDay: number; measure: string } }][] = [
        [await reader.forTenant('solo'), await get('/v1/tenants/solo/usage')],
        [await reader.forGroup(groupId), await get(`/v1/groups/${groupId}/usage`)],
        [await reader.forLineage('lin'), await get('/v1/lineages/lin')],
      ];
      for (const [snap, answer] of answers) {
        const rules = (Object.keys(RULES) as AlertRule[]).filter((r) => RULES[r].standing[snap.scope]);
        expect(rules.length).toBeGreaterThan(0);
        expect(answer.standing).toEqual(rules.map((r) => standing(r, snap, pack)));
        if (!answer.projections) continue;
        // The projections are each rule's own levels (the test's pack), at its own threshold and measure.
        for (const [threshold, rule, operations] of [['tenant', 'tenant-approach', g.tenantOps], ['frontier', 'frontier-approach', g.frontierOps]] as const) {
          const own = g.rules[rule].levels ?? g.levels;
          const shown = answer.projections.filter((p) => p.threshold === threshold);
          expect(shown.map((p) => [p.rule, p.level, p.severity, p.operations])).toEqual(own.map((l) => [rule, l.fraction, l.severity, l.fraction * operations]));
          const st = standing(rule, snap, pack)!;
          expect(st.measure).toBe(g.rules[rule].measure);
          expect(shown).toEqual(st.levels.map((l) => ({ threshold, rule, level: l.level, severity: l.severity, operations: l.operations, observedOperations: st.measured, reached: l.reached, projectedAt: l.projectedAt })));
        }
        expect(answer.burnRate).toMatchObject({ operationsPerDay: standing('tenant-approach', snap, pack)!.perDay, measure: g.rules['tenant-approach'].measure });
      }
    }), { numRuns: 25 });
  });

  it("gives the console each rule's label and level text from the rule table (GET /v1/policy)", async () => {
    const body = await get('/v1/policy');
    expect(body.rules.map((r: { rule: string; label: string }) => [r.rule, r.label])).toEqual(Object.values(RULES).map((r) => [r.rule, r.label]));
    const tenantApproach = body.rules.find((r: { rule: string }) => r.rule === 'tenant-approach');
    const own = api.pack.rules['tenant-approach'].levels ?? api.pack.levels;
    expect(tenantApproach.levels).toEqual(own.map((l) => ({ level: l.fraction, severity: l.severity, label: `${Math.round(l.fraction * 1000) / 10} % of the threshold` })));
  });
});
