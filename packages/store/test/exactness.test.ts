import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createStore, type UsageRecord } from '../src/index.js';
import { backends, type Backend } from './backends.js';
import { T0, record } from './fixtures.js';

const SEC = 1000;

/** A usage slice: one tenant's job on one node (or the whole job), at one rate. */
interface SlicePlan {
  tenant: number;
  job: number;
  node: string | null;
  /** Whole tera-operations per millisecond, so that any counted portion is an exact integer. */
  rate: number;
  milliGpus: number;
}

/** One report: a slice and an interval in whole seconds from T0. */
interface ReportPlan {
  slice: number;
  startSec: number;
  lengthSec: number;
}

const slicePlan = fc.record({
  tenant: fc.integer({ min: 0, max: 2 }),
  job: fc.integer({ min: 0, max: 3 }),
  rate: fc.integer({ min: 1, max: 1000 }),
  milliGpus: fc.integer({ min: 1, max: 8000 }),
});

/** Slices, each job at one granularity (the books refuse a second one, tested elsewhere). */
function slicesOf(plans: { tenant: number; job: number; rate: number; milliGpus: number }[], perNode: boolean[]): SlicePlan[] {
  return plans.map((p, i) => ({ ...p, node: perNode[p.job % perNode.length] ? `host-${i}` : null }));
}

/** The measure of a union of [start, end) intervals, in the same unit. */
function unionMeasure(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [s, e] of sorted) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) {
      curEnd = e;
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

describe.each(backends)('exactness by covered time on $name', ({ start }) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await start();
  });
  afterAll(async () => backend.stop());

  it('leaves every tenant total equal to the measure of the union of its reported intervals times their rate, whatever the order, duplicates, overlaps, gaps and batch splits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(slicePlan, { minLength: 1, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.array(fc.record({ slice: fc.nat(), startSec: fc.integer({ min: 0, max: 7200 }), lengthSec: fc.integer({ min: 1, max: 3600 }) }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }), // reports delivered again later (a retrying producer, a replay)
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), // batch cut points
        async (plans, perNode, rawReports, repeats, cuts) => {
          const store = createStore({ redis: backend.redis, prefix: backend.prefix() });
          // Slices with the same (tenant, job, node) must share a rate: merge duplicates of the plan.
          const slices = new Map<string, SlicePlan>();
          for (const s of slicesOf(plans, perNode)) slices.set(`${s.tenant}/${s.job}/${s.node}`, slices.get(`${s.tenant}/${s.job}/${s.node}`) ?? s);
          const sliceList = [...slices.values()];
          // Per job one granularity: the first slice planned for a job decides.
          const granularity = new Map<string, boolean>();
          const usable = sliceList.filter((s) => {
            const job = `${s.tenant}/${s.job}`;
            const g = s.node !== null;
            if (!granularity.has(job)) granularity.set(job, g);
            return granularity.get(job) === g;
          });
          const reports: ReportPlan[] = rawReports.map((r) => ({ ...r, slice: r.slice % usable.length }));
          const toRecord = (r: ReportPlan, offset: number): UsageRecord => {
            const s = usable[r.slice]!;
            return record({
              offset: String(offset),
              tenantId: `tenant-${s.tenant}`,
              jobKey: `cluster/${s.job}`,
              node: s.node,
              startMs: T0 + r.startSec * SEC,
              endMs: T0 + (r.startSec + r.lengthSec) * SEC,
              teraOpsPerMs: s.rate,
              upperTeraOpsPerMs: s.rate,
              milliGpus: s.milliGpus,
              lineageId: null,
            });
          };
          const log = [...reports, ...repeats.map((i) => reports[i % reports.length]!)].map(toRecord);
          const cutSet = [...new Set(cuts.map((c) => 1 + (c % log.length)))].sort((a, b) => a - b);
          let position = 0;
          for (const cut of [...cutSet, log.length]) {
            if (cut <= position) continue;
            await store.accounting.applyBatch(log.slice(position, cut));
            position = cut;
          }

          // Ground truth: per slice, the union of its intervals times its rate.
          const expectedOps = new Map<string, number>();
          const expectedGpuUs = new Map<string, number>();
          usable.forEach((s, i) => {
            const intervals = reports.filter((r) => r.slice === i).map((r): [number, number] => [r.startSec * SEC, (r.startSec + r.lengthSec) * SEC]);
            const ms = unionMeasure(intervals);
            const tenant = `tenant-${s.tenant}`;
            expectedOps.set(tenant, (expectedOps.get(tenant) ?? 0) + ms * s.rate);
            expectedGpuUs.set(tenant, (expectedGpuUs.get(tenant) ?? 0) + ms * s.milliGpus);
          });
          for (const [tenantId, ops] of expectedOps) {
            const totals = await store.accounting.tenantTotals(tenantId);
            expect(totals.ops ?? 0).toBe(ops);
            expect(totals.gpu_us ?? 0).toBe(expectedGpuUs.get(tenantId));
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
