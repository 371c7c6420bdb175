import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createStore, type Store } from '../src/index.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
beforeEach(() => {
  const prefix = freshPrefix('cases');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

describe('audit log', () => {
  it('lists entries newest first, filtered, across pages', async () => {
    for (let i = 0; i < 7; i++) await store.audit.append({ actor: i % 2 ? 'bob' : 'alice', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: { i } });
    const first = await store.audit.list({ actor: 'alice', limit: 2 });
    expect(first.entries.map((e) => e.object)).toEqual(['tenant:t6', 'tenant:t4']);
    const second = await store.audit.list({ actor: 'alice', limit: 2, cursor: first.nextCursor! });
    expect(second.entries.map((e) => e.object)).toEqual(['tenant:t2', 'tenant:t0']);
    expect((await store.audit.list({ actor: 'alice', limit: 2, cursor: second.nextCursor! })).entries).toEqual([]);
    expect((await store.audit.list({ object: 'tenant:t3', limit: 10 })).entries).toEqual([expect.objectContaining({ actor: 'bob', after: { i: 3 } })]);
    expect((await store.audit.list({ since: new Date(Date.now() + 60_000), limit: 10 })).entries).toEqual([]);
  });
});

describe('transition-alert script', () => {
  const alert = { id: 'al_aaaaaaaaaaaaaaaaaaaaaaaa', raisedAt: new Date().toISOString(), status: 'open', observedOperations: 1.25e25 };

  it('replaces the record only if it is the version read, and puts alert.updated in the outbox', async () => {
    await store.alerts.raise(alert);
    const read = (await store.cases.raw(alert.id))!;
    expect(await store.cases.replace(alert.id, read, { ...alert, status: 'acknowledged' })).toBe('replaced');
    // A second writer that read the same version loses.
    expect(await store.cases.replace(alert.id, read, { ...alert, status: 'escalated' })).toBe('conflict');
    expect(JSON.parse((await store.cases.raw(alert.id))!)).toEqual({ ...alert, status: 'acknowledged' });
    const outbox = await redis.xrange(store.keys.alerts.outbox, '-', '+');
    expect(outbox.map(([, f]) => f[3])).toEqual(['alert.raised', 'alert.updated']);
    expect(await store.cases.replace('al_bbbbbbbbbbbbbbbbbbbbbbbb', read, alert)).toBe('missing');
  });

  it('keeps numbers exactly as written (the record is never re-encoded by Lua)', async () => {
    await store.alerts.raise(alert);
    const read = (await store.cases.raw(alert.id))!;
    const next = { ...alert, status: 'escalated', observedOperations: 9.87654321012345e25 };
    await store.cases.replace(alert.id, read, next);
    expect(await store.cases.raw(alert.id)).toBe(JSON.stringify(next));
  });
});
