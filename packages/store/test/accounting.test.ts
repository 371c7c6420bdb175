import { Packr } from 'msgpackr';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeys, createStore, defineScripts, sliceField, type Keys, type Store, type UsageRecord } from '../src/index.js';
import { backends, type Backend } from './backends.js';
import { makeAlert } from './alert-fixture.js';
import { HOUR, T0, record } from './fixtures.js';

describe.each(backends)('on $name', ({ start }) => {
  let backend: Backend;
  let store: Store;
  /** The store's key names, for reading Redis directly through the backend's own client. */
  let names: Keys;
  beforeAll(async () => {
    backend = await start();
  });
  afterAll(async () => backend.stop());
  beforeEach(() => {
    const prefix = backend.prefix();
    store = createStore({ redis: backend.redis, prefix });
    names = createKeys(prefix);
  });

  // 512 H100s at 40 % of the 989.4 TFLOP/s BF16 dense peak, in tera-operations per millisecond,
  // and the apply script's documented rounding of a counted portion (half up).
  const rate = (512 * 989.4 * 0.4) / 1000;
  const tera = (ms: number, r = rate) => Math.floor(ms * r + 0.5);
  const oneHour = tera(HOUR);
  const MIN = 60_000;
  const DAY = 24 * HOUR;
  // A slice's covered time, measured and allocated together, as "start,end;start,end" (a tombstone as stored).
  const union = (v: string): string => {
    if (v.startsWith('~')) return v;
    const st = sliceField(v);
    const all = [...st.measured, ...st.allocated.map((a) => [a.startMs, a.endMs] as [number, number])].sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const [s, e] of all) {
      const last = out[out.length - 1];
      if (last && s <= last[1]) last[1] = Math.max(last[1], e);
      else out.push([s, e]);
    }
    return out.map(([s, e]) => `${s},${e}`).join(';');
  };
  const ranges = (fields: Record<string, string>) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, union(v)]));
  const covered = async (tenantId: string) => ranges(await backend.redis.hgetall(names.tenant.cover(tenantId)));

  describe('apply-usage script', () => {
    it('counts an hour of 512 H100s at 40 % as 7.29e20 operations', async () => {
      const [r] = await store.accounting.applyBatch([record({ offset: '0' })]);
      expect(r!.counted).toBe(1);
      // 512 × 989.4e12 × 3600 × 0.4 = 7.29464832e20 operations = 729,464,832 tera-operations
      expect(r!.totals.teraOps).toBe(729_464_832);
      expect(r!.totals.gpuMicroseconds).toBe(512 * 3600 * 1e6);
      expect(r!.totals.controlledTier1TeraOps).toBe(729_464_832);
      expect(r!.lineages.get('tenant-a/model-x')).toBe(729_464_832);
    });

    it('counts an interval once when the same batch is delivered twice, and says how much was covered', async () => {
      const batch = [record({ offset: '10' }), record({ offset: '11', startMs: T0 + HOUR, endMs: T0 + 2 * HOUR })];
      await store.accounting.applyBatch(batch);
      const [again] = await store.accounting.applyBatch(batch);
      expect(again!.counted).toBe(0);
      expect(again!.duplicates).toBe(2);
      expect(again!.covered.duplicateGpuMicroseconds).toBe(2 * 512 * 3600 * 1e6);
      expect(again!.totals.teraOps).toBe(2 * oneHour);
      expect((await store.accounting.tenantTotals('tenant-a'))['covered_gpu_us:duplicate']).toBe(2 * 512 * 3600 * 1e6);
    });

    it('counts an interval once whatever topic, partition or offset carries it again', async () => {
      await store.accounting.applyBatch([record({ offset: '900' })]);
      const [r] = await store.accounting.applyBatch([record({ offset: '0' })]); // a recreated topic starts at 0
      expect(r!.duplicates).toBe(1);
      const [next] = await store.accounting.applyBatch([record({ offset: '1', startMs: T0 + HOUR, endMs: T0 + 2 * HOUR })]);
      expect(next!.counted).toBe(1);
      expect(next!.totals.teraOps).toBe(2 * oneHour);
    });

    it('counts only the uncovered part of a re-report shifted by half an interval', async () => {
      await store.accounting.applyBatch([record({ offset: '1' })]);
      const [r] = await store.accounting.applyBatch([record({ offset: '2', startMs: T0 + HOUR / 2, endMs: T0 + HOUR + HOUR / 2 })]);
      expect(r!.overlaps).toBe(1);
      expect(r!.countedMs).toBe(HOUR / 2);
      expect(r!.covered.overlapGpuMicroseconds).toBe(512 * 1800 * 1e6);
      expect(r!.totals.teraOps).toBe(oneHour + tera(HOUR / 2));
    });

    it('counts an interval that arrives after its successor', async () => {
      await store.accounting.applyBatch([record({ offset: '1', startMs: T0 + HOUR, endMs: T0 + 2 * HOUR })]);
      const [r] = await store.accounting.applyBatch([record({ offset: '2' })]);
      expect(r!.counted).toBe(1);
      expect(r!.totals.teraOps).toBe(2 * oneHour);
      expect(await covered('tenant-a')).toEqual({ 'cluster-a/1': `${T0},${T0 + 2 * HOUR}` });
    });

    it('counts 24 hourly reports of one job delivered in shuffled order, once each', async () => {
      const order = [5, 17, 0, 23, 11, 2, 19, 8, 14, 21, 1, 6, 12, 3, 22, 9, 16, 4, 20, 10, 15, 7, 18, 13];
      const batch = order.map((h, i) => record({ offset: String(i), startMs: T0 + h * HOUR, endMs: T0 + (h + 1) * HOUR, milliGpus: 64_000, teraOpsPerMs: (64 * 989.4 * 0.4) / 1000 }));
      const [r] = await store.accounting.applyBatch(batch);
      expect(r!.counted).toBe(24);
      expect(r!.totals.teraOps).toBe(24 * tera(HOUR, (64 * 989.4 * 0.4) / 1000));
      expect(r!.totals.gpuMicroseconds).toBe(64 * 24 * 3600 * 1e6);
      expect(await covered('tenant-a')).toEqual({ 'cluster-a/1': `${T0},${T0 + 24 * HOUR}` });
    });

    it('counts every node of a multi-node job and every GPU of a per-GPU report', async () => {
      const perNode = (8 * 989.4 * 0.4) / 1000;
      const nodes = ['n1', 'n2', 'n3', 'n4'].map((node, i) => record({ offset: String(i), node, milliGpus: 8000, teraOpsPerMs: perNode, h100e: 8 }));
      const perGpu = (989.4 * 0.4) / 1000;
      const gpus = Array.from({ length: 8 }, (_, g) => record({ offset: String(10 + g), jobKey: 'cluster-a/2', node: `n9/${g}`, milliGpus: 1000, teraOpsPerMs: perGpu, h100e: 1 }));
      const [r] = await store.accounting.applyBatch([...nodes, ...gpus]);
      expect(r!.counted).toBe(12);
      expect(r!.totals.teraOps).toBe(4 * tera(HOUR, perNode) + 8 * tera(HOUR, perGpu));
      expect(r!.totals.gpuMicroseconds).toBe((32 + 8) * 3600 * 1e6);
      expect(r!.totals.h100eActive).toBe(40);
      expect(await store.accounting.heldJobs('tenant-a')).toEqual([
        { jobKey: 'cluster-a/1', h100e: 32, teraOps: 4 * tera(HOUR, perNode) },
        { jobKey: 'cluster-a/2', h100e: 8, teraOps: 8 * tera(HOUR, perGpu) },
      ]);
    });

    it('keeps one covered range per slice for a contiguous stream of one-minute reports', async () => {
      const batch = Array.from({ length: 60 }, (_, m) => record({ offset: String(m), node: 'host-1', startMs: T0 + m * MIN, endMs: T0 + (m + 1) * MIN }));
      await store.accounting.applyBatch(batch.slice(0, 30));
      await store.accounting.applyBatch(batch.slice(30));
      expect(await covered('tenant-a')).toEqual({ 'cluster-a/1|host-1': `${T0},${T0 + HOUR}` });
      expect((await store.accounting.tenantTotals('tenant-a')).ops).toBe(60 * tera(MIN));
    });

    it('refuses a report at another granularity than the first one seen for its job', async () => {
      const [r] = await store.accounting.applyBatch([
        record({ offset: '1' }),
        record({ offset: '2', node: 'host-1' }),
        record({ offset: '3', jobKey: 'cluster-a/2', node: 'host-1' }),
        record({ offset: '4', jobKey: 'cluster-a/2', node: 'host-1/0' }),
        record({ offset: '5', jobKey: 'cluster-a/2' }),
      ]);
      expect(r!.counted).toBe(2);
      expect(r!.rejected.map((x) => [x.record.offset, x.reason])).toEqual([['2', 'mixed_granularity'], ['4', 'mixed_granularity'], ['5', 'mixed_granularity']]);
      expect(r!.rejected[0]!.message).toContain('cluster-a/1');
      expect(r!.totals.teraOps).toBe(2 * oneHour);
    });

    it('refuses a report ending beyond the absolute age bound, and counts an older report of a slice never pruned', async () => {
      const late = createStore({ redis: backend.redis, prefix: backend.prefix(), maxLatenessMs: 45 * DAY, maxAgeMs: 400 * DAY });
      const now = T0 + 500 * DAY;
      await late.accounting.applyBatch([record({ offset: '1', jobKey: 'c/now', startMs: now - HOUR, endMs: now })]);
      const [r] = await late.accounting.applyBatch([
        record({ offset: '2', jobKey: 'c/ancient', startMs: now - 401 * DAY - HOUR, endMs: now - 401 * DAY }),
        record({ offset: '3', jobKey: 'c/backfill', startMs: now - 60 * DAY - HOUR, endMs: now - 60 * DAY }),
      ]);
      expect(r!.rejected.map((x) => [x.record.offset, x.reason])).toEqual([['2', 'interval_too_late']]);
      expect(r!.rejected[0]!.message).toMatch(/more than 400 days \(limits.maxAgeDays\) before/);
      expect(r!.counted).toBe(1);
      expect(r!.totals.teraOps).toBe(2 * oneHour);
    });

    it('leaves a tombstone where it prunes: a report before it is refused, one across it counts its part after it, whatever the bound later', async () => {
      const prefix = backend.prefix();
      const small = createStore({ redis: backend.redis, prefix, maxLatenessMs: 2 * DAY, maxIntervalMs: HOUR });
      const slice = { jobKey: 'c/long', node: 'h1' };
      await small.accounting.applyBatch([record({ offset: '1', ...slice, startMs: T0, endMs: T0 + HOUR })]);
      // Another job moves the watermark three days on: the slice's range ends before the horizon.
      await small.accounting.applyBatch([record({ offset: '2', jobKey: 'c/other', startMs: T0 + 3 * DAY, endMs: T0 + 3 * DAY + HOUR })]);
      expect(await backend.redis.hget(createKeys(prefix).tenant.cover('tenant-a'), 'c/long|h1')).toBe(`~${T0 + HOUR}`);
      expect(await backend.redis.zscore(createKeys(prefix).tenant.tombs('tenant-a'), 'c/long|h1')).toBe(String(T0 + HOUR));
      // The bound raised to 60 days: the replayed hour is still refused, naming the tombstone…
      const raised = createStore({ redis: backend.redis, prefix, maxLatenessMs: 60 * DAY, maxIntervalMs: HOUR });
      const [again] = await raised.accounting.applyBatch([record({ offset: '3', ...slice, startMs: T0, endMs: T0 + HOUR })]);
      expect(again!.rejected.map((x) => [x.record.offset, x.reason])).toEqual([['3', 'interval_too_late']]);
      expect(again!.rejected[0]!.message).toMatch(/tombstone/);
      // …and a report across it counts only the half hour after it; the half before is named as pruned.
      const [across] = await raised.accounting.applyBatch([record({ offset: '4', ...slice, startMs: T0 + HOUR / 2, endMs: T0 + 3 * HOUR / 2 })]);
      expect(across!.counted).toBe(1);
      expect(across!.covered.prunedGpuMicroseconds).toBe(512 * 1800 * 1e6);
      expect(across!.totals.teraOps).toBe(2 * oneHour + tera(HOUR / 2));
    });

    it('prunes the covered time of slices idle beyond the lateness bound, keeping the totals and the top jobs', async () => {
      const prefix = backend.prefix();
      const small = createStore({ redis: backend.redis, prefix, maxLatenessMs: 2 * DAY, maxIntervalMs: HOUR });
      // 150 jobs of 1..150 seconds: distinct sizes, so "the 100 largest" is well defined.
      const idle = Array.from({ length: 150 }, (_, j) => record({ offset: String(j), jobKey: `c/${j}`, node: 'h1', endMs: T0 + (j + 1) * 1000 }));
      await small.accounting.applyBatch(idle);
      expect(Object.keys(await backend.redis.hgetall(createKeys(prefix).tenant.cover('tenant-a')))).toHaveLength(150);
      // Three days on: the horizon (watermark − 2 days − 1 hour) passes every idle slice's end.
      const [r] = await small.accounting.applyBatch([record({ offset: '999', jobKey: 'c/new', node: 'h1', startMs: T0 + 3 * DAY, endMs: T0 + 3 * DAY + HOUR })]);
      let expected = oneHour;
      for (let j = 0; j < 150; j++) expected += tera((j + 1) * 1000);
      expect(r!.totals.teraOps).toBe(expected);
      // Each idle slice is left as a tombstone: the end of its covered time.
      const expectedCover: Record<string, string> = { 'c/new|h1': `${T0 + 3 * DAY},${T0 + 3 * DAY + HOUR}` };
      for (let j = 0; j < 150; j++) expectedCover[`c/${j}|h1`] = `~${T0 + (j + 1) * 1000}`;
      expect(ranges(await backend.redis.hgetall(createKeys(prefix).tenant.cover('tenant-a')))).toEqual(expectedCover);
      expect(await backend.redis.zrange(createKeys(prefix).tenant.slices('tenant-a'), 0, -1)).toEqual(['c/new|h1']);
      expect(await backend.redis.zcard(createKeys(prefix).tenant.tombs('tenant-a'))).toBe(150);
      expect(await backend.redis.hkeys(createKeys(prefix).tenant.granularity('tenant-a'))).toEqual(['c/new']);
      // Top jobs stay as evidence: c/new and the 99 largest idle jobs (c/51 … c/149) make the top 100.
      const kept = await backend.redis.zrevrange(createKeys(prefix).tenant.jobOps('tenant-a'), 0, -1);
      expect(kept).toEqual(['c/new', ...Array.from({ length: 99 }, (_, i) => `c/${149 - i}`)]);
    });

    it('supersedes allocated time by measured time in either order, rounding each superseded portion on its own', async () => {
      // An allocation (jobcomp) of a node for an hour, and DCGM measuring 20 minutes of it at another rate
      // and GPU count. Rates chosen so no product is a whole number: the rounding shows.
      const ra = (8 * 989.4 * 0.4) / 1000 + 1e-7;
      const rm = (8 * 989.4 * 0.37) / 1000 + 3e-7;
      const slice = { jobKey: 'c/42', node: 'gn-1' };
      const allocated = record({ offset: '1', ...slice, teraOpsPerMs: ra, upperTeraOpsPerMs: 8 * 0.9894, milliGpus: 8000, startMs: T0, endMs: T0 + HOUR });
      const measured = record({ offset: '2', ...slice, measured: true, teraOpsPerMs: rm, upperTeraOpsPerMs: 7 * 0.9894, milliGpus: 7000, startMs: T0 + 10 * MIN, endMs: T0 + 30 * MIN });
      // Allocated first: the hour counts whole, then the measured 20 minutes add their difference
      // floor(L × rm + 0.5) − floor(L × ra + 0.5), each portion rounded on its own.
      await store.accounting.applyBatch([allocated]);
      const [r] = await store.accounting.applyBatch([measured]);
      const L = 20 * MIN;
      expect(r!.totals.teraOps).toBe(tera(HOUR, ra) - tera(L, ra) + tera(L, rm));
      expect(r!.totals.upperTeraOps).toBe(tera(HOUR, 8 * 0.9894) - tera(L, 8 * 0.9894) + tera(L, 7 * 0.9894));
      expect(r!.totals.gpuMicroseconds).toBe(8000 * HOUR - 8000 * L + 7000 * L);
      expect(r!.supersededGpuMicroseconds).toBe(7000 * L);
      // Measured first (another tenant): the allocation counts only the 40 minutes nothing measured, as one portion.
      const [m] = await store.accounting.applyBatch([{ ...measured, tenantId: 'tenant-b' }]);
      const [a] = await store.accounting.applyBatch([{ ...allocated, tenantId: 'tenant-b' }]);
      expect(m!.totals.teraOps).toBe(tera(L, rm));
      expect(a!.totals.teraOps).toBe(tera(L, rm) + tera(HOUR - L, ra));
      expect(a!.covered.measuredGpuMicroseconds).toBe(8000 * L);
      expect(a!.totals.gpuMicroseconds).toBe(7000 * L + 8000 * (HOUR - L));
      // Both orders replayed: nothing moves, and coverage counts each slice-time once per kind.
      for (const tenantId of ['tenant-a', 'tenant-b']) {
        const before = await store.accounting.tenantTotals(tenantId);
        const [again] = await store.accounting.applyBatch([{ ...measured, tenantId }, { ...allocated, tenantId }, { ...measured, tenantId }]);
        expect(again!.counted).toBe(0);
        const after = await store.accounting.tenantTotals(tenantId);
        expect([after.ops, after.ub, after.gpu_us]).toEqual([before.ops, before.ub, before.gpu_us]);
        expect(after.measured_gpu_us).toBe(7000 * L);
        expect(after.allocated_gpu_us).toBe(8000 * HOUR);
        expect((await store.accounting.jobCoverage(tenantId, ['c/42'])).get('c/42')).toEqual({ measuredGpuMicroseconds: 7000 * L, allocatedGpuMicroseconds: 8000 * HOUR });
        expect(after.conflicts ?? 0).toBe(0);
      }
      // The job's operations, the breakdowns and the day bucket moved with the difference.
      const t = await store.accounting.tenantTotals('tenant-a');
      expect(t['ops:model:nvidia-h100-sxm5-80gb']).toBe(t.ops);
      expect(await store.accounting.topJobs('tenant-a')).toEqual([{ jobKey: 'c/42', teraOps: t.ops }]);
      expect((await store.usage.dailyTeraOps('tenant-a')).days.reduce((sum, [, v]) => sum + v, 0)).toBe(t.ops);
    });

    it('records a conflict where a report overlaps the latest measured report or any allocation at another rate, and counts the first', async () => {
      const slice = { jobKey: 'c/7', node: 'gn-1', measured: true };
      const minute = (m: number, over: Partial<UsageRecord> = {}) => record({ offset: String(m), ...slice, startMs: T0 + m * MIN, endMs: T0 + (m + 1) * MIN, ...over });
      await store.accounting.applyBatch([minute(0), minute(1)]);
      // A second exporter, in a later call, reports minute 1 at another rate: a conflict; the first figure stays.
      const [r] = await store.accounting.applyBatch([minute(1, { teraOpsPerMs: rate / 2, eventId: 'standby/1', source: 'dcgm://standby' })]);
      expect(r!.conflicts.map((c) => [c.record.eventId, c.overlapGpuMicroseconds, c.countedTeraOpsPerMs, c.reportedTeraOpsPerMs])).toEqual([['standby/1', 512_000 * MIN, rate, rate / 2]]);
      expect(r!.totals.teraOps).toBe(2 * tera(MIN));
      // Minute 0 at another rate overlaps older measured time only: counted as an overlap, not detected (docs/accounting.md).
      const [older] = await store.accounting.applyBatch([minute(0, { teraOpsPerMs: rate / 2 })]);
      expect(older!.conflicts).toEqual([]);
      expect(older!.duplicates).toBe(1);
      // Allocations: every range keeps its rates, so an overlap anywhere is detected.
      const alloc = (m: number, n: number, over: Partial<UsageRecord> = {}) => record({ offset: `a${m}`, jobKey: 'c/8', node: 'gn-2', startMs: T0 + m * MIN, endMs: T0 + n * MIN, ...over });
      await store.accounting.applyBatch([alloc(0, 10)]);
      await store.accounting.applyBatch([alloc(10, 20)]);
      const [a] = await store.accounting.applyBatch([alloc(2, 4, { milliGpus: 256_000, teraOpsPerMs: rate / 2 })]);
      expect(a!.conflicts.map((c) => c.overlapGpuMicroseconds)).toEqual([256_000 * 2 * MIN]);
      expect((await store.accounting.conflicts('tenant-a')).map((c) => [c.eventId, c.measured])).toEqual([[null, false], ['standby/1', true]]);
      const t = await store.accounting.tenantTotals('tenant-a');
      expect([t.conflicts, t.conflict_gpu_us]).toEqual([2, 512_000 * MIN + 256_000 * 2 * MIN]);
      expect(t.ops).toBe(2 * tera(MIN) + 2 * tera(10 * MIN));
    });

    it('adds the disputed excess of a pre-covered slice\'s later higher-rate report, and none for a lower-rate one', async () => {
      // A client pre-covers each minute with a cheap report (64 GPUs at 1 %), then the real one (512 at 40 %) arrives.
      const cheap = (64 * 989.4 * 0.01) / 1000 + 1e-7;
      const slice = { jobKey: 'c/pre', node: 'gn-1', measured: true };
      const minute = (m: number, over: Partial<UsageRecord> = {}) => record({ offset: String(m), ...slice, startMs: T0 + m * MIN, endMs: T0 + (m + 1) * MIN, ...over });
      await store.accounting.applyBatch([minute(0, { teraOpsPerMs: cheap, milliGpus: 64_000 }), minute(0)]);
      await store.accounting.applyBatch([minute(1, { teraOpsPerMs: cheap, milliGpus: 64_000 })]);
      const [r] = await store.accounting.applyBatch([minute(1)]);
      expect(r!.conflicts).toHaveLength(1);
      const excess = tera(MIN, rate) - tera(MIN, cheap);
      let t = await store.accounting.tenantTotals('tenant-a');
      expect(t.ops).toBe(2 * tera(MIN, cheap));
      expect([t.disputed_tera, t.disputed_ctl_tera, t.disputed_ctl1_tera]).toEqual([2 * excess, 2 * excess, 2 * excess]);
      // Minute 2 the other way round: the later report is the cheaper one, a conflict that disputes nothing.
      await store.accounting.applyBatch([minute(2)]);
      const [low] = await store.accounting.applyBatch([minute(2, { teraOpsPerMs: cheap, milliGpus: 64_000 })]);
      expect(low!.conflicts).toHaveLength(1);
      t = await store.accounting.tenantTotals('tenant-a');
      expect(t.conflicts).toBe(3);
      expect(t.disputed_tera).toBe(2 * excess);
      // An allocation pre-covered at a lower rate on uncontrolled hardware: disputed under `all` only.
      const ra = (8 * 989.4 * 0.4) / 1000 + 3e-7;
      const alloc = (rateOf: number) => record({ offset: `a${rateOf}`, jobKey: 'c/alloc', node: 'gn-2', teraOpsPerMs: rateOf, milliGpus: 8000, startMs: T0, endMs: T0 + 10 * MIN, controlledTier1: false, controlled: false, country: 'SG', tier: 2 });
      await store.accounting.applyBatch([alloc(ra / 10)]);
      await store.accounting.applyBatch([alloc(ra)]);
      t = await store.accounting.tenantTotals('tenant-a');
      const allocExcess = tera(10 * MIN, ra) - tera(10 * MIN, ra / 10);
      expect([t.disputed_tera, t.disputed_ctl_tera, t.disputed_ctl1_tera]).toEqual([2 * excess + allocExcess, 2 * excess, 2 * excess]);
      // The tenant's snapshot carries them as operations, with the conflict count, GPU-seconds and the latest records.
      const books = await store.books.tenantBooks('tenant-a');
      expect(books.conflicts?.count).toBe(4);
      expect(books.conflicts?.gpuSeconds).toBe((2 * 512_000 * MIN + 64_000 * MIN + 8000 * 10 * MIN) / 1e6);
      expect(books.conflicts?.disputed).toEqual({ all: (2 * excess + allocExcess) * 1e12, controlled: 2 * excess * 1e12, controlledTier1: 2 * excess * 1e12 });
      expect(books.conflicts?.latest.map((c) => c.jobId)).toContain('c/pre');
      // A tenant without conflicts has none on its snapshot.
      await store.accounting.applyBatch([record({ offset: 'b', tenantId: 'tenant-b' })]);
      expect((await store.books.tenantBooks('tenant-b')).conflicts).toBeUndefined();
    });

    it('reads a latest measured report stored as start,end,rate (the first apply-usage-12 text) and still detects a conflict with it', async () => {
      const slice = { jobKey: 'c/7', node: 'gn-1', measured: true };
      const minute = (m: number, over: Partial<UsageRecord> = {}) => record({ offset: String(m), ...slice, startMs: T0 + m * MIN, endMs: T0 + (m + 1) * MIN, ...over });
      await store.accounting.applyBatch([minute(0), minute(1)]);
      // The field as the script wrote it before the latest report became "length,rate".
      const cover = names.tenant.cover('tenant-a');
      const field = (await backend.redis.hget(cover, 'c/7|gn-1'))!;
      const parts = field.split('|');
      expect(parts).toHaveLength(8);
      parts[7] = `${T0 + MIN},${T0 + 2 * MIN},${rate}`;
      await backend.redis.hset(cover, 'c/7|gn-1', parts.join('|'));
      const [r] = await store.accounting.applyBatch([minute(1, { teraOpsPerMs: rate / 2, eventId: 'standby/1' })]);
      expect(r!.conflicts.map((c) => [c.record.eventId, c.overlapGpuMicroseconds, c.countedTeraOpsPerMs, c.reportedTeraOpsPerMs])).toEqual([['standby/1', 512_000 * MIN, rate, rate / 2]]);
      expect(r!.totals.teraOps).toBe(2 * tera(MIN));
      // Minute 0 overlaps older measured time only (the stored report starts at minute 1): no conflict.
      const [older] = await store.accounting.applyBatch([minute(0, { teraOpsPerMs: rate / 2 })]);
      expect(older!.conflicts).toEqual([]);
    });

    it('drops tombstones beyond the absolute age bound', async () => {
      const prefix = backend.prefix();
      const small = createStore({ redis: backend.redis, prefix, maxLatenessMs: 2 * DAY, maxAgeMs: 10 * DAY, maxIntervalMs: HOUR });
      await small.accounting.applyBatch([record({ offset: '1', jobKey: 'c/old', node: 'h1' })]);
      await small.accounting.applyBatch([record({ offset: '2', jobKey: 'c/mid', node: 'h1', startMs: T0 + 5 * DAY, endMs: T0 + 5 * DAY + HOUR })]);
      expect(await backend.redis.zrange(createKeys(prefix).tenant.tombs('tenant-a'), 0, -1)).toEqual(['c/old|h1']);
      // Twelve days on, c/old's tombstone is older than the age bound (any report it could stop is refused by age): dropped.
      await small.accounting.applyBatch([record({ offset: '3', jobKey: 'c/new', node: 'h1', startMs: T0 + 12 * DAY, endMs: T0 + 12 * DAY + HOUR })]);
      expect(await backend.redis.zrange(createKeys(prefix).tenant.tombs('tenant-a'), 0, -1)).toEqual(['c/mid|h1']);
      expect(Object.keys(await backend.redis.hgetall(createKeys(prefix).tenant.cover('tenant-a'))).sort()).toEqual(['c/mid|h1', 'c/new|h1']);
      const [late] = await small.accounting.applyBatch([record({ offset: '4', jobKey: 'c/old', node: 'h1' })]);
      expect(late!.rejected.map((x) => x.reason)).toEqual(['interval_too_late']);
    });

    it('applies 20,000 distinct jobs of one tenant in one batch, then a neighbour', async () => {
      const perGpu = (989.4 * 0.4) / 1000;
      const batch = Array.from({ length: 20_000 }, (_, j) => record({ offset: String(j), jobKey: `array/${j}`, milliGpus: 1000, teraOpsPerMs: perGpu, h100e: 1 }));
      const results = await store.accounting.applyBatch([...batch, record({ offset: '20000', tenantId: 'neighbour' })]);
      const byTenant = new Map(results.map((r) => [r.tenantId, r]));
      expect(byTenant.get('tenant-a')!.counted).toBe(20_000);
      expect(byTenant.get('tenant-a')!.totals.teraOps).toBe(20_000 * tera(HOUR, perGpu));
      expect(byTenant.get('tenant-a')!.totals.gpuMicroseconds).toBe(20_000 * 3600 * 1e6);
      expect(byTenant.get('neighbour')!.totals.teraOps).toBe(oneHour);
    });

    it('dead-letters a record the script cannot take as apply_failed and counts the rest', async () => {
      const [r] = await store.accounting.applyBatch([
        record({ offset: '1' }),
        record({ offset: '2', jobKey: 'c/broken', teraOpsPerMs: Number.NaN }),
        record({ offset: '3', jobKey: 'c/3' }),
      ]);
      expect(r!.rejected.map((x) => [x.record.offset, x.reason])).toEqual([['2', 'apply_failed']]);
      expect(r!.rejected[0]!.message).toMatch(/rate of report 0 is not a finite number/);
      expect(r!.totals.teraOps).toBe(2 * oneHour);
    });

    it('names the field of a malformed report, and writes nothing, whatever else the call holds', async () => {
      const cases: [Partial<Parameters<typeof record>[0]>, RegExp][] = [
        [{ startMs: T0, endMs: T0 }, /report 0 has an empty interval/],
        [{ milliGpus: Number.POSITIVE_INFINITY }, /milli-GPUs of report 0 is not a finite number/],
        [{ upperTeraOpsPerMs: Number.NaN }, /upper rate of report 0 is not a finite number/],
        [{ endMs: Number.NaN }, /end of report 0 is not a finite number/],
      ];
      for (const [bad, message] of cases) {
        const [r] = await store.accounting.applyBatch([record({ offset: '1', jobKey: 'c/ok' }), record({ offset: '2', ...bad })]);
        expect(r!.rejected.map((x) => [x.record.offset, x.reason])).toEqual([['2', 'apply_failed']]);
        expect(r!.rejected[0]!.message).toMatch(message);
      }
      // Straight to the script: a report naming a slice the call does not hold fails the whole call.
      const k = names.tenant;
      const t = 'tenant-malformed';
      const keys = {
        totals: k.totals(t), days: k.days(t), hours: k.hours(t), cover: k.cover(t), slices: k.slices(t), granularity: k.granularity(t),
        jobs: k.jobs(t), jobOps: k.jobOps(t), lineages: k.lineages(t), active: k.active(t), coverage: k.coverage(t), tombs: k.tombs(t),
      };
      const packr = new Packr({ useRecords: false, moreTypes: false });
      const classes = packr.pack([['', 'US', '1', 'nvidia-h100-sxm5-80gb', '1', 8]]);
      const slices = packr.pack([['c/1', 'h1', 1]]);
      const call = (reports: number[], sl = slices) => defineScripts(backend.redis).applyUsage({
        keys,
        args: { activeWindowMs: HOUR, latenessMs: 7 * DAY, maxIntervalMs: HOUR, pruneLimit: 200, maxAgeMs: 400 * DAY, classes, slices: sl, reports: packr.pack(reports) },
      });
      await expect(call([1, 0, T0, T0 + HOUR, 1, 2, 8000])).rejects.toThrow(/slice of report 0 is not an index into the slices/);
      await expect(call([0, 0, T0, T0 + HOUR, 1, 2, 8000, 0, 3, T0, T0 + HOUR, 1, 2, 8000])).rejects.toThrow(/class of report 1 is not an index into the classes/);
      await expect(call([0, 0, T0, T0 + HOUR, 1, 2, 8000], packr.pack([['c/1', 'h1', 2]]))).rejects.toThrow(/slice 0 is not \[job, node, kind\] with a job and a kind of 0 \(allocated\) or 1 \(measured\)/);
      await expect(call([0, 0, T0, T0 + HOUR, 1, 2])).rejects.toThrow(/hold 6 numbers, not a multiple of 7/);
      expect(await backend.redis.exists(...Object.values(keys))).toBe(0);
      // The same call, well formed, counts.
      expect((await call([0, 0, T0, T0 + HOUR, 1, 2, 8000]))[0]).toBe(1);
    });

    it('sums a lineage over every tenant that feeds it', async () => {
      await store.accounting.applyBatch([
        record({ offset: '1', tenantId: 'shell-1', lineageId: 'run-1' }),
        record({ offset: '2', tenantId: 'shell-2', lineageId: 'run-1' }),
        record({ offset: '3', tenantId: 'shell-3', lineageId: 'run-1', jobKey: 'cluster-b/9' }),
      ]);
      const own = await store.accounting.lineageOwnTeraOps('run-1');
      expect(own.teraOps).toBe(3 * oneHour);
      expect([...own.byTenant.keys()].sort()).toEqual(['shell-1', 'shell-2', 'shell-3']);
    });

    it('keeps a lineage upper bound that never falls below the exact total, even when a batch is applied twice', async () => {
      const batch = [record({ offset: '1', lineageId: 'run-9' }), record({ offset: '2', startMs: T0 + HOUR / 2, endMs: T0 + 2 * HOUR, lineageId: 'run-9' })];
      const [first] = await store.accounting.applyBatch(batch);
      const exact = (await store.accounting.lineageOwnTeraOps('run-9')).teraOps;
      expect(exact).toBe(first!.lineages.get('run-9'));
      expect(first!.lineageUpperBounds.get('run-9')).toBeGreaterThanOrEqual(exact);
      const [again] = await store.accounting.applyBatch(batch);
      expect(again!.lineageUpperBounds.get('run-9')).toBeGreaterThan(exact);
      expect((await store.accounting.lineageOwnTeraOps('run-9')).teraOps).toBe(exact);
    });

    it('keeps trailing 24-hour and 365-day sums as the tenant moves forward in time', async () => {
      const day = 24 * HOUR;
      await store.accounting.applyBatch([record({ offset: '1' })]);
      const [later] = await store.accounting.applyBatch([record({ offset: '2', jobKey: 'c/2', startMs: T0 + day + HOUR, endMs: T0 + day + 2 * HOUR })]);
      expect(later!.totals.trailing24hTeraOps).toBe(oneHour);
      expect(later!.totals.trailing365dTeraOps).toBe(2 * oneHour);
      const [yearOn] = await store.accounting.applyBatch([record({ offset: '3', jobKey: 'c/3', startMs: T0 + 365 * day, endMs: T0 + 365 * day + HOUR })]);
      expect(yearOn!.totals.trailing365dTeraOps).toBe(2 * oneHour); // the first day left the window
      expect(yearOn!.totals.teraOps).toBe(3 * oneHour);
      const [gap] = await store.accounting.applyBatch([record({ offset: '4', jobKey: 'c/4', startMs: T0 + 900 * day, endMs: T0 + 900 * day + HOUR })]);
      expect(gap!.totals.trailing365dTeraOps).toBe(oneHour);
      expect(gap!.totals.trailing24hTeraOps).toBe(oneHour);
    });

    it('tracks H100-equivalents held by active jobs and releases them when a job falls silent', async () => {
      const [r] = await store.accounting.applyBatch([
        record({ offset: '1', jobKey: 'c/1', h100e: 512 }),
        record({ offset: '2', jobKey: 'c/2', h100e: 1024, milliGpus: 1_024_000 }),
      ]);
      expect(r!.totals.h100eActive).toBe(1536);
      const [later] = await store.accounting.applyBatch([record({ offset: '3', jobKey: 'c/2', h100e: 1024, startMs: T0 + HOUR, endMs: T0 + 2 * HOUR })]);
      expect(later!.totals.h100eActive).toBe(1024); // c/1 silent for an hour > the 15-minute window
    });
  });

  describe('raise-alert script', () => {
    it('creates an alert and its outbox entry once however often it is raised', async () => {
      const alert = makeAlert({ raisedAt: new Date(T0).toISOString(), rule: 'frontier-approach' });
      expect(await store.alerts.raise(alert)).toBe(true);
      expect(await store.alerts.raise({ ...alert, raisedAt: new Date(T0 + 1).toISOString() })).toBe(false);
      expect(await store.alerts.get(alert.id)).toEqual(alert);
      expect(await backend.redis.xlen(names.alerts.outbox)).toBe(1);
    });
  });
});
