import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countedTeraOps, createStore, type Store } from '../src/index.js';
import { backends, type Backend } from './backends.js';
import { makeAlert } from './alert-fixture.js';
import { HOUR, T0, record } from './fixtures.js';

describe.each(backends)('on $name', ({ start }) => {
  let backend: Backend;
  let store: Store;
  beforeAll(async () => {
    backend = await start();
  });
  afterAll(async () => backend.stop());
  beforeEach(() => {
    store = createStore({ redis: backend.redis, prefix: backend.prefix() });
  });

  const SRC = 'gpu.telemetry.v1/0';
  const oneHour = countedTeraOps(HOUR, record({ offset: '0' }).teraOpsPerMs);

  describe('apply-usage script', () => {
    it('counts an hour of 512 H100s at 40 % as 7.29e20 operations', async () => {
      const [r] = await store.accounting.applyBatch(SRC, [record({ offset: '0' })]);
      expect(r!.applied).toBe(1);
      // 512 × 989.4e12 × 3600 × 0.4 = 7.29464832e20 operations = 729,464,832 tera-operations
      expect(r!.totals.teraOps).toBe(729_464_832);
      expect(r!.totals.teraOps).toBe(oneHour);
      expect(r!.totals.gpuMicroseconds).toBe(512 * 3600 * 1e6);
      expect(r!.totals.controlledTier1TeraOps).toBe(oneHour);
      expect(r!.lineages.get('tenant-a/model-x')).toBe(oneHour);
    });

    it('counts an interval once when the same batch is delivered twice', async () => {
      const batch = [record({ offset: '10' }), record({ offset: '11', startMs: T0 + HOUR, endMs: T0 + 2 * HOUR })];
      await store.accounting.applyBatch(SRC, batch);
      const [again] = await store.accounting.applyBatch(SRC, batch);
      expect(again!.applied).toBe(0);
      expect(again!.skipped).toBe(2);
      expect(again!.totals.teraOps).toBe(2 * oneHour);
    });

    it('counts an interval once when the same event arrives again under a later offset', async () => {
      await store.accounting.applyBatch(SRC, [record({ offset: '1' })]);
      const [r] = await store.accounting.applyBatch(SRC, [record({ offset: '2' })]);
      expect(r!.applied).toBe(1);
      expect(r!.countedMs).toBe(0);
      expect(r!.totals.teraOps).toBe(oneHour);
    });

    it('counts only the part of an overlapping interval after the job high-water mark', async () => {
      await store.accounting.applyBatch(SRC, [record({ offset: '1' })]);
      const [r] = await store.accounting.applyBatch(SRC, [record({ offset: '2', startMs: T0 + HOUR / 2, endMs: T0 + 2 * HOUR })]);
      expect(r!.countedMs).toBe(HOUR);
      expect(r!.totals.teraOps).toBe(oneHour + countedTeraOps(HOUR, record({ offset: '0' }).teraOpsPerMs));
    });

    it('completes a half-applied batch on retry without repeating the applied tenants', async () => {
      const a = record({ offset: '5', tenantId: 'tenant-a' });
      const b = record({ offset: '6', tenantId: 'tenant-b', lineageId: 'tenant-b/m' });
      await store.accounting.applyBatch(SRC, [a]); // the crash happened after tenant-a's script ran
      const results = await store.accounting.applyBatch(SRC, [a, b]);
      const byTenant = new Map(results.map((r) => [r.tenantId, r]));
      expect(byTenant.get('tenant-a')!.applied).toBe(0);
      expect(byTenant.get('tenant-a')!.totals.teraOps).toBe(oneHour);
      expect(byTenant.get('tenant-b')!.applied).toBe(1);
      expect(byTenant.get('tenant-b')!.totals.teraOps).toBe(oneHour);
    });

    it('keeps a fence per source partition', async () => {
      await store.accounting.applyBatch('gpu.telemetry.v1/0', [record({ offset: '100' })]);
      const [r] = await store.accounting.applyBatch('slurm.jobcomp.v1/0', [record({ offset: '3', jobKey: 'cluster-a/2' })]);
      expect(r!.applied).toBe(1);
      expect(r!.totals.teraOps).toBe(2 * oneHour);
      const fences = await store.accounting.fence('gpu.telemetry.v1/0', ['tenant-a', 'tenant-z']);
      expect(fences.get('tenant-a')).toBe(100);
      expect(fences.get('tenant-z')).toBe(-1);
    });

    it('sums a lineage over every tenant that feeds it', async () => {
      await store.accounting.applyBatch(SRC, [
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
      const [first] = await store.accounting.applyBatch(SRC, batch);
      const exact = (await store.accounting.lineageOwnTeraOps('run-9')).teraOps;
      expect(exact).toBe(first!.lineages.get('run-9'));
      expect(first!.lineageUpperBounds.get('run-9')).toBeGreaterThanOrEqual(exact);
      const [again] = await store.accounting.applyBatch(SRC, batch);
      expect(again!.lineageUpperBounds.get('run-9')).toBeGreaterThan(exact);
      expect((await store.accounting.lineageOwnTeraOps('run-9')).teraOps).toBe(exact);
    });

    it('keeps trailing 24-hour and 365-day sums as the tenant moves forward in time', async () => {
      const day = 24 * HOUR;
      await store.accounting.applyBatch(SRC, [record({ offset: '1' })]);
      const [later] = await store.accounting.applyBatch(SRC, [record({ offset: '2', jobKey: 'c/2', startMs: T0 + day + HOUR, endMs: T0 + day + 2 * HOUR })]);
      expect(later!.totals.trailing24hTeraOps).toBe(oneHour);
      expect(later!.totals.trailing365dTeraOps).toBe(2 * oneHour);
      const [yearOn] = await store.accounting.applyBatch(SRC, [record({ offset: '3', jobKey: 'c/3', startMs: T0 + 365 * day, endMs: T0 + 365 * day + HOUR })]);
      expect(yearOn!.totals.trailing365dTeraOps).toBe(2 * oneHour); // the first day left the window
      expect(yearOn!.totals.teraOps).toBe(3 * oneHour);
      const [gap] = await store.accounting.applyBatch(SRC, [record({ offset: '4', jobKey: 'c/4', startMs: T0 + 900 * day, endMs: T0 + 900 * day + HOUR })]);
      expect(gap!.totals.trailing365dTeraOps).toBe(oneHour);
      expect(gap!.totals.trailing24hTeraOps).toBe(oneHour);
    });

    it('tracks H100-equivalents held by active jobs and releases them when a job falls silent', async () => {
      const [r] = await store.accounting.applyBatch(SRC, [
        record({ offset: '1', jobKey: 'c/1', h100e: 512 }),
        record({ offset: '2', jobKey: 'c/2', h100e: 1024, milliGpus: 1_024_000 }),
      ]);
      expect(r!.totals.h100eActive).toBe(1536);
      const [later] = await store.accounting.applyBatch(SRC, [record({ offset: '3', jobKey: 'c/2', h100e: 1024, startMs: T0 + HOUR, endMs: T0 + 2 * HOUR })]);
      expect(later!.totals.h100eActive).toBe(1024); // c/1 silent for an hour > the 15-minute window
    });
  });

  describe('raise-alert script', () => {
    it('creates an alert and its outbox entry once however often it is raised', async () => {
      const alert = makeAlert({ raisedAt: new Date(T0).toISOString(), rule: 'frontier-approach' });
      expect(await store.alerts.raise(alert)).toBe(true);
      expect(await store.alerts.raise({ ...alert, raisedAt: new Date(T0 + 1).toISOString() })).toBe(false);
      expect(await store.alerts.get(alert.id)).toEqual(alert);
      expect(await store.redis.xlen(store.keys.alerts.outbox)).toBe(1);
    });
  });
});
