import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countedTeraOps, createStore, type UsageRecord } from '../src/index.js';
import { backends, type Backend } from './backends.js';
import { T0, record } from './fixtures.js';

interface JobPlan {
  tenant: number;
  gpus: number;
  util: number;
  durationsSec: number[];
}

const jobPlan = fc.record({
  tenant: fc.integer({ min: 0, max: 2 }),
  gpus: fc.integer({ min: 1, max: 4096 }),
  util: fc.double({ min: 0.01, max: 1, noNaN: true }),
  durationsSec: fc.array(fc.integer({ min: 1, max: 3600 }), { minLength: 1, maxLength: 6 }),
});

/** The unique events of each job, contiguous, in the order a scheduler would report them. */
function eventsOf(jobs: JobPlan[]): UsageRecord[] {
  const out: UsageRecord[] = [];
  jobs.forEach((job, j) => {
    let t = T0;
    for (const d of job.durationsSec) {
      out.push(record({
        offset: '0',
        tenantId: `tenant-${job.tenant}`,
        jobKey: `cluster/${j}`,
        startMs: t,
        endMs: t + d * 1000,
        teraOpsPerMs: (job.gpus * 989.4 * job.util) / 1000,
        milliGpus: job.gpus * 1000,
        lineageId: `lineage-${j % 2}`,
      }));
      t += d * 1000;
    }
  });
  return out;
}

/** Ground truth, computed from the unique events alone. */
function truth(events: UsageRecord[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const e of events) totals.set(e.tenantId, (totals.get(e.tenantId) ?? 0) + countedTeraOps(e.endMs - e.startMs, e.teraOpsPerMs));
  return totals;
}

describe.each(backends)('exactness under redelivery on $name', ({ start }) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await start();
  });
  afterAll(async () => backend.stop());

  it('leaves every tenant total equal to the ground truth whatever the duplicates, replays and batch splits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(jobPlan, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }), // events the producer sends twice
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), // batch cut points
        fc.array(fc.nat(), { maxLength: 3 }), // offsets consumers rewind to (crash / rebalance / replay)
        async (jobs, dupPicks, cuts, rewinds) => {
          const store = createStore({ redis: backend.redis, prefix: backend.prefix() });
          const unique = eventsOf(jobs);
          // The log: unique events, with duplicates appended at later offsets (as a retrying producer does).
          const log = [...unique, ...dupPicks.map((i) => unique[i % unique.length]!)].map((e, offset) => ({ ...e, offset: String(offset) }));
          // Deliveries: the log in batches, plus rewinds that re-read from an earlier offset.
          let position = 0;
          const schedule: UsageRecord[][] = [];
          const cutSet = [...new Set(cuts.map((c) => 1 + (c % log.length)))].sort((a, b) => a - b);
          for (const cut of [...cutSet, log.length]) {
            if (cut <= position) continue;
            schedule.push(log.slice(position, cut));
            position = cut;
          }
          for (const r of rewinds) schedule.push(log.slice(r % log.length));
          for (const batch of schedule) await store.accounting.applyBatch('topic/0', batch);

          for (const [tenantId, expected] of truth(unique)) {
            const totals = await store.accounting.tenantTotals(tenantId);
            expect(totals.ops).toBe(expected);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
