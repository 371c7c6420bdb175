import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { OPS_PER_UNIT, createStore, type Store } from '../src/index.js';
import { HOUR, T0, record } from './fixtures.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
beforeEach(() => {
  const prefix = freshPrefix('books');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

// 1,000 tera-ops per ms for an hour = 3.6e9 tera-ops = 3.6e21 operations.
const RATE = 1000;
const ONE_HOUR_OPS = RATE * HOUR * OPS_PER_UNIT;

describe('books: what the rules read', () => {
  it('keeps each measure (controlled Tier 1, controlled anywhere, all) for the tenant, its buckets and each lineage contribution', async () => {
    await store.accounting.applyBatch([
      record({ offset: '1', jobKey: 'c/us', teraOpsPerMs: RATE, lineageId: 'm', country: 'US', tier: 1, controlledTier1: true, controlled: true }),
      record({ offset: '2', jobKey: 'c/sg', teraOpsPerMs: RATE, lineageId: 'm', country: 'SG', tier: 2, controlledTier1: false, controlled: true }),
      record({ offset: '3', jobKey: 'c/old', teraOpsPerMs: RATE, lineageId: 'm', country: 'US', tier: 1, controlledTier1: false, controlled: false, acceleratorId: 'nvidia-a100-sxm4-80gb' }),
      record({ offset: '4', jobKey: 'c/none', teraOpsPerMs: RATE, lineageId: null, country: 'US', tier: 1, controlledTier1: true, controlled: true, startMs: T0 + HOUR, endMs: T0 + 2 * HOUR }),
    ]);
    const b = await store.books.tenantBooks('tenant-a');
    expect(b.split).toEqual({ all: 4 * ONE_HOUR_OPS, controlled: 3 * ONE_HOUR_OPS, controlledTier1: 2 * ONE_HOUR_OPS, byTier: { 1: 3 * ONE_HOUR_OPS, 2: ONE_HOUR_OPS }, byCountry: { US: 3 * ONE_HOUR_OPS, SG: ONE_HOUR_OPS } });
    const day = Math.floor((T0 + HOUR) / 86_400_000);
    expect(b.days.controlledTier1).toEqual({ [day]: 2 * ONE_HOUR_OPS });
    expect(b.days.controlled).toEqual({ [day]: 3 * ONE_HOUR_OPS });
    expect(b.hours.all).toEqual({ [(T0 + HOUR) / HOUR]: 3 * ONE_HOUR_OPS, [(T0 + 2 * HOUR) / HOUR]: ONE_HOUR_OPS });
    expect(b.hours.controlledTier1).toEqual({ [(T0 + HOUR) / HOUR]: ONE_HOUR_OPS, [(T0 + 2 * HOUR) / HOUR]: ONE_HOUR_OPS });
    expect(b.latestEndMs).toBe(T0 + 2 * HOUR);

    const l = await store.books.lineage('m');
    expect(l.own).toEqual({ 'tenant-a': { all: 3 * ONE_HOUR_OPS, controlled: 2 * ONE_HOUR_OPS, controlledTier1: ONE_HOUR_OPS, byTier: { 1: 2 * ONE_HOUR_OPS, 2: ONE_HOUR_OPS }, byCountry: { US: 2 * ONE_HOUR_OPS, SG: ONE_HOUR_OPS } } });
    // The breakdown fields never show up as lineages.
    expect(await store.books.lineagesOf('tenant-a')).toEqual(['m']);
    expect(Object.keys((await store.usage.tenant('tenant-a', new Date(T0 + 2 * HOUR))).byLineage)).toEqual(['m']);
  });

  it('prunes the measure hour buckets with the plain ones once they leave the trailing 24 h', async () => {
    await store.accounting.applyBatch([record({ offset: '1', teraOpsPerMs: RATE })]);
    await store.accounting.applyBatch([record({ offset: '2', jobKey: 'c/later', teraOpsPerMs: RATE, startMs: T0 + 30 * HOUR, endMs: T0 + 31 * HOUR })]);
    const b = await store.books.tenantBooks('tenant-a');
    expect(b.hours.controlledTier1).toEqual({ [(T0 + 31 * HOUR) / HOUR]: ONE_HOUR_OPS });
    expect(b.hours.all).toEqual({ [(T0 + 31 * HOUR) / HOUR]: ONE_HOUR_OPS });
  });

  it('walks the ancestry as a graph: declared parents and checkpoint links are edges, every ancestor once', async () => {
    // L declares A; L also read a checkpoint B wrote; A declares B; B declares C. A diamond L → {A, B} → B → C.
    await store.registry.putLineage({ id: 'L', parentId: 'A', baseModel: null, notes: '' });
    await store.registry.putLineage({ id: 'A', parentId: 'B', baseModel: null, notes: '' });
    await store.registry.putLineage({ id: 'B', parentId: 'C', baseModel: null, notes: '' });
    await store.registry.putLineage({ id: 'C', parentId: null, baseModel: { name: 'closed', publishedWeights: false, pretrainingOperations: 5e24 }, notes: '' });
    await store.lineageLinks.observe([
      { tenantId: 'tenant-b', lineageId: 'B', parentId: null, checkpointIn: null, checkpointOut: 'ck-b' },
      { tenantId: 'tenant-a', lineageId: 'L', parentId: null, checkpointIn: 'ck-b', checkpointOut: null },
    ]);
    await store.accounting.applyBatch([
      record({ offset: '1', tenantId: 'tenant-a', jobKey: 'c/l', lineageId: 'L', teraOpsPerMs: RATE }),
      record({ offset: '2', tenantId: 'tenant-b', jobKey: 'c/b', lineageId: 'B', teraOpsPerMs: RATE }),
      record({ offset: '3', tenantId: 'tenant-c', jobKey: 'c/c', lineageId: 'C', teraOpsPerMs: RATE }),
    ]);
    const l = await store.books.lineage('L');
    expect(l.ancestors.map((a) => a.id)).toEqual(['A', 'B', 'C']);
    expect(l.ancestors.map((a) => Object.keys(a.own))).toEqual([[], ['tenant-b'], ['tenant-c']]);
    expect(l.edges).toEqual(expect.arrayContaining([
      { child: 'L', parent: 'A', kind: 'declared' },
      { child: 'L', parent: 'B', kind: 'checkpoint', checkpoint: 'ck-b', tenantId: 'tenant-a' },
      { child: 'A', parent: 'B', kind: 'declared' },
      { child: 'B', parent: 'C', kind: 'declared' },
    ]));
    expect(l.baseModelOperations).toBe(5e24);
    // B is L's child through the checkpoint edge as well: it is re-evaluated when B grows.
    expect((await store.lineageLinks.children('B')).sort()).toEqual(['A', 'L']);
  });

  it('keeps an event clock that only moves forward', async () => {
    expect(await store.books.eventClock()).toBeNull();
    await store.books.advanceClock(T0 + HOUR);
    await store.books.advanceClock(T0);
    expect(await store.books.eventClock()).toBe(T0 + HOUR);
  });
});
