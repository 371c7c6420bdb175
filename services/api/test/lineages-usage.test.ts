import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '@flopwatch/store';
import { ruleStanding } from '@flopwatch/policy';
import { auth, raiseAlert, startApi, tenant, type TestApi } from './helpers.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 86_400_000;
let api: TestApi;
beforeEach(async () => {
  api = await startApi({ now: () => new Date(NOW) });
});
afterEach(async () => api?.close());

let offset = 0;
/** A counted record: `tera` tera-operations over one hour ending at `endMs`. */
function record(tenantId: string, endMs: number, tera: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    offset: String(offset++), tenantId, jobKey: `c/${tenantId}-${endMs}`, node: null, startMs: endMs - HOUR, endMs,
    teraOpsPerMs: tera / HOUR, upperTeraOpsPerMs: (2 * tera) / HOUR, milliGpus: 8000, lineageId: null,
    country: 'US', tier: 1, acceleratorId: 'nvidia-h100-sxm5-80gb', controlledTier1: true, h100e: 8, ...over,
  };
}

describe('lineages', () => {
  it('stores a lineage and shows own and cumulative operations, ancestors and contributing tenants', async () => {
    const put = (id: string, body: object) => api.app.inject({ method: 'PUT', url: `/v1/lineages/${id}`, headers: auth('admin'), payload: body });
    expect((await put('base', { parentId: null, baseModel: { name: 'closed-1', publishedWeights: false, pretrainingOperations: 1e24 }, notes: '' })).json().created).toBe(true);
    expect((await put('child', { parentId: 'base', baseModel: null, notes: 'fine-tune' })).statusCode).toBe(200);
    await api.store.accounting.applyBatch([record('ten-a', NOW - HOUR, 3_000_000, { lineageId: 'base' }), record('ten-b', NOW - HOUR, 5_000_000, { lineageId: 'child' })]);

    const res = await api.app.inject({ url: '/v1/lineages/child', headers: auth('viewer') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.ownOperations).toBe(5e18);
    expect(body.cumulativeOperations).toBe(5e18 + 3e18 + 1e24);
    expect(body.ancestors.map((a: { id: string }) => a.id)).toEqual(['base']);
    expect(body.contributingTenants).toEqual([
      { tenantId: 'ten-b', operations: 5e18, ownOperations: 5e18 },
      { tenantId: 'ten-a', operations: 3e18, ownOperations: 0 },
    ]);
  });

  it('refuses a parent that would make a cycle (409) and answers 404 for an unknown lineage', async () => {
    const put = (id: string, parentId: string | null) => api.app.inject({ method: 'PUT', url: `/v1/lineages/${id}`, headers: auth('admin'), payload: { parentId, baseModel: null, notes: '' } });
    await put('l-a', null);
    await put('l-b', 'l-a');
    const cycle = await put('l-a', 'l-b');
    expect(cycle.statusCode).toBe(409);
    expect(cycle.json().error.message).toContain('parentId');
    expect((await api.app.inject({ url: '/v1/lineages/none', headers: auth('viewer') })).statusCode).toBe(404);
  });
});

describe('usage', () => {
  it("reports a tenant's totals, windows, breakdowns, burn rate, projections and risk", async () => {
    await api.app.inject({ method: 'PUT', url: '/v1/tenants/u-1', headers: auth('admin'), payload: tenant('u-1', { hqCountry: 'CN', kycStatus: 'pending' }) });
    await api.store.accounting.applyBatch([
      record('u-1', NOW - 40 * DAY, 1_000_000),
      record('u-1', NOW - 10 * DAY, 2_000_000, { country: 'JP', acceleratorId: 'nvidia-a100-sxm4-80gb' }),
      record('u-1', NOW - 3 * DAY, 4_000_000, { lineageId: 'u-model' }),
      record('u-1', NOW - 2 * HOUR, 8_000_000),
    ]);
    const res = await api.app.inject({ url: '/v1/tenants/u-1/usage', headers: auth('analyst') });
    expect(res.statusCode).toBe(200);
    const u = res.json();
    expect(u.totals.operations).toBe(15e18);
    expect(u.totals.upperBoundOperations).toBe(30e18);
    expect(u.totals.gpuHours).toBeCloseTo(32);
    expect(u.windows).toEqual({ '24h': 8e18, '7d': 12e18, '30d': 14e18, '365d': 15e18 });
    expect(u.breakdown.byCountry).toEqual({ US: 13e18, JP: 2e18 });
    expect(u.breakdown.byModel['nvidia-a100-sxm4-80gb']).toBe(2e18);
    expect(u.breakdown.byTier).toEqual({ 1: 15e18 });
    expect(u.breakdown.byLineage).toEqual({ 'u-model': 4e18 });
    expect(u.burnRate.operationsPerDay).toBe(8e18);
    const tenth = u.projections.find((p: { threshold: string; level: number }) => p.threshold === 'tenant' && p.level === 0.1);
    expect(tenth.reached).toBe(false);
    // Measured at the rules' event time: the books hold no ingest clock here, so the tenant's latest usage (NOW - 2 h).
    expect(u.asOf).toBe(new Date(NOW - 2 * HOUR).toISOString());
    expect(Date.parse(tenth.projectedAt)).toBe(NOW - 2 * HOUR + ((1e25 - 15e18) / 8e18) * DAY);
    expect(u.risk).toMatchObject({ tier: 3, trusted: false, kycStatus: 'pending' });
    expect(u.registered).toBe(true);
    expect(u.totals.coveredGpuHours).toEqual({ duplicate: 0, overlap: 0, measured: 0, pruned: 0 });

    // The last hour reported again by a second collector: shown as covered, not counted twice.
    await api.store.accounting.applyBatch([record('u-1', NOW - 2 * HOUR, 8_000_000)]);
    const again = (await api.app.inject({ url: '/v1/tenants/u-1/usage', headers: auth('analyst') })).json();
    expect(again.totals.operations).toBe(15e18);
    expect(again.totals.coveredGpuHours).toEqual({ duplicate: 8, overlap: 0, measured: 0, pruned: 0 }); // 8 GPUs × 1 hour
  });

  it("shows coverage per tenant and top job, and a conflict as usage data and as the tenant's case evidence", async () => {
    // One node of one job: the poller says 8 GPUs for two hours, jobcomp says 4 for the first (a
    // conflict: the first wins), DCGM measures the second hour (supersedes the allocation there).
    const node = { jobKey: 'slurm-a/991', node: 'gn-1' };
    const allocated = (over: Partial<UsageRecord>) => record('cov-1', NOW - HOUR, 0, { ...node, teraOpsPerMs: 8 * 0.4, upperTeraOpsPerMs: 8, milliGpus: 8000, ...over });
    await api.store.accounting.applyBatch([
      allocated({ startMs: NOW - 2 * HOUR, endMs: NOW, eventId: 'slurm-a/991/gn-1/running/a/b', source: 'slurmrestd://slurm-a' }),
      allocated({ startMs: NOW - 2 * HOUR, endMs: NOW - HOUR, teraOpsPerMs: 4 * 0.4, upperTeraOpsPerMs: 4, milliGpus: 4000, eventId: 'slurm-a/991/gn-1/2026-11-20T10:00:00Z', source: 'slurm://slurm-a' }),
      allocated({ startMs: NOW - HOUR, endMs: NOW, teraOpsPerMs: 8 * 0.3, measured: true, eventId: 'dcgm-1', source: 'dcgm://slurm-a' }),
    ]);
    const u = (await api.app.inject({ url: '/v1/tenants/cov-1/usage', headers: auth('analyst') })).json();
    // Operations: the poller's first hour at 8 × 0.4, DCGM's second hour at 8 × 0.3 (tera-ops per ms × ms).
    expect(u.totals.operations).toBe((8 * 0.4 * HOUR + 8 * 0.3 * HOUR) * 1e12);
    expect(u.coverage).toEqual({ measuredGpuHours: 8, allocatedGpuHours: 16, ratio: 0.5 });
    expect(u.totals.supersededGpuHours).toBe(8);
    expect(u.topJobs).toEqual([{ jobKey: 'slurm-a/991', operations: u.totals.operations, coverage: { measuredGpuHours: 8, allocatedGpuHours: 16, ratio: 0.5 } }]);
    expect(u.conflicts).toEqual({ count: 1, gpuHours: 4 });
    expect(u.latestConflicts).toEqual([{
      eventId: 'slurm-a/991/gn-1/2026-11-20T10:00:00Z', source: 'slurm://slurm-a', jobKey: 'slurm-a/991', node: 'gn-1',
      start: new Date(NOW - 2 * HOUR).toISOString(), end: new Date(NOW - HOUR).toISOString(), kind: 'allocated',
      overlapGpuSeconds: 4 * 3600, countedOperationsPerSecond: 8 * 0.4 * 1e15, reportedOperationsPerSecond: 4 * 0.4 * 1e15, rateDifference: 0.5 - 1,
    }]);

    // The tenant's case shows the same as evidence.
    await raiseAlert(api.store, { subject: 'cov-1', level: 0.5, raisedAt: new Date(NOW - HOUR).toISOString() });
    const [row] = (await api.app.inject({ url: '/v1/cases?tenant=cov-1', headers: auth('analyst') })).json().cases;
    const detail = (await api.app.inject({ url: `/v1/cases/${row.id}`, headers: auth('analyst') })).json();
    expect(detail.accounting).toEqual([{
      tenantId: 'cov-1',
      coverage: { measuredGpuHours: 8, allocatedGpuHours: 16 },
      conflicts: { count: 1, gpuHours: 4, latest: [{
        eventId: 'slurm-a/991/gn-1/2026-11-20T10:00:00Z', source: 'slurm://slurm-a', jobKey: 'slurm-a/991', node: 'gn-1',
        start: new Date(NOW - 2 * HOUR).toISOString(), end: new Date(NOW - HOUR).toISOString(), kind: 'allocated', overlapGpuSeconds: 4 * 3600, rateDifference: 0.5 - 1,
      }] },
    }]);
  });

  it('treats an unregistered tenant as KYC status unknown', async () => {
    const u = (await api.app.inject({ url: '/v1/tenants/ghost/usage', headers: auth('viewer') })).json();
    expect(u).toMatchObject({ registered: false, risk: { kycStatus: 'unknown', trusted: false }, totals: { operations: 0 } });
    expect(u.projections.every((p: { projectedAt: string | null }) => p.projectedAt === null)).toBe(true);
  });

  it('sums a group of linked tenants and answers 404 for an unknown group', async () => {
    const shared = { identifiers: { paymentFingerprints: [], contactDomains: ['shell.example'] } };
    await api.app.inject({ method: 'PUT', url: '/v1/tenants/g-a', headers: auth('admin'), payload: tenant('g-a', shared) });
    const linked = await api.app.inject({ method: 'PUT', url: '/v1/tenants/g-b', headers: auth('admin'), payload: tenant('g-b', { ...shared, kycStatus: 'unverified' }) });
    const groupId = linked.json().groupChanges[0].groupId;
    await api.store.accounting.applyBatch([record('g-a', NOW - HOUR, 1_000_000), record('g-b', NOW - HOUR, 2_000_000)]);
    const res = await api.app.inject({ url: `/v1/groups/${groupId}/usage`, headers: auth('viewer') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ groupId, totals: { operations: 3e18 }, risk: { trusted: false } });
    expect(res.json().members.map((m: { tenantId: string; operations: number }) => [m.tenantId, m.operations])).toEqual([['g-a', 1e18], ['g-b', 2e18]]);
    expect((await api.app.inject({ url: '/v1/groups/none/usage', headers: auth('viewer') })).statusCode).toBe(404);
  });
});

describe('usage projections and the rules', () => {
  it('give the rules\' own projected crossing at the books\' event time, which recedes as the clock moves on after the tenant stops', async () => {
    await api.app.inject({ method: 'PUT', url: '/v1/tenants/p-1', headers: auth('admin'), payload: tenant('p-1', { hqCountry: 'SG' }) });
    // 8e18 counted in the hour ending NOW - 2 h (controlled Tier 1), 4e18 one day earlier.
    await api.store.accounting.applyBatch([record('p-1', NOW - 26 * HOUR, 4_000_000), record('p-1', NOW - 2 * HOUR, 8_000_000)]);
    const projection = async () => (await api.app.inject({ url: '/v1/tenants/p-1/usage', headers: auth('analyst') })).json();
    const rules = async (asOfMs: number) => {
      const snap = { scope: 'tenant' as const, subject: 'p-1', asOfMs, tenant: await api.store.books.tenant('p-1') };
      return ruleStanding('tenant-approach', snap, api.pack)!;
    };

    // The ingest's clock stands at the tenant's latest usage: 24 h burn = 8e18 a day.
    await api.store.books.advanceClock(NOW - 2 * HOUR);
    const at = await projection();
    const full = at.projections.find((p: { threshold: string; level: number }) => p.threshold === 'tenant' && p.level === 1);
    expect(at.asOf).toBe(new Date(NOW - 2 * HOUR).toISOString());
    expect(at.burnRate).toEqual({ operationsPerDay: 8e18, window: '24h', measure: 'controlledTier1' });
    expect(full.projectedAt).toBe(new Date(NOW - 2 * HOUR + ((1e26 - 12e18) / 8e18) * DAY).toISOString());
    expect(full.projectedAt).toBe((await rules(NOW - 2 * HOUR)).projectedCrossingAt);

    // Other tenants' usage moved the clock to NOW + 21 h: the trailing 24 h (NOW - 3 h, NOW + 21 h] still
    // holds the hour of 8e18 that ended at NOW - 2 h.
    await api.store.books.advanceClock(NOW + 21 * HOUR);
    const later = await projection();
    expect(later.asOf).toBe(new Date(NOW + 21 * HOUR).toISOString());
    expect(later.burnRate.operationsPerDay).toBe(8e18);
    // Two hours later the last counted hour has left the window: no burn, no projection.
    await api.store.books.advanceClock(NOW + 23 * HOUR);
    const stopped = await projection();
    expect(stopped.burnRate.operationsPerDay).toBe(0);
    expect(stopped.projections.every((p: { projectedAt: string | null }) => p.projectedAt === null)).toBe(true);
    expect((await rules(NOW + 23 * HOUR)).projectedCrossingAt).toBeNull();
  });
});
