import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, purgePrefix } from '../src/index.js';
import { backends, type Backend } from './backends.js';
import { record } from './fixtures.js';

describe.each(backends)('purgePrefix on $name', ({ start }) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await start();
  });
  afterAll(async () => backend.stop());

  it('deletes every key of a run under its prefix, across hash slots, and nothing else', async () => {
    const doomedPrefix = backend.prefix();
    const doomed = createStore({ redis: backend.redis, prefix: doomedPrefix });
    const kept = createStore({ redis: backend.redis, prefix: backend.prefix() });
    const batch = ['a', 'b', 'c', 'd'].map((t, i) => record({ offset: String(i), tenantId: `tenant-${t}` }));
    await doomed.accounting.applyBatch(batch);
    await kept.accounting.applyBatch(batch.slice(0, 1));
    expect(await purgePrefix(backend.redis, doomedPrefix)).toBeGreaterThan(20);
    expect((await doomed.accounting.tenantTotals('tenant-a')).ops).toBeUndefined();
    expect((await kept.accounting.tenantTotals('tenant-a')).ops).toBeGreaterThan(0);
    expect(await purgePrefix(backend.redis, doomedPrefix)).toBe(0);
  });
});
