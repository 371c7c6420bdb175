import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { caseId, caseSummary, type Case } from '@flopwatch/contracts';
import { dropPrefix, freshPrefix, redisUrl, startRedisCluster } from '@flopwatch/test-harness';
import { createAuditLog, createKeys, createStore, type Keys, type Store } from '../src/index.js';
import { makeAlert } from './alert-fixture.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
/** The store's key names, for reading Redis directly through this test's client. */
let names: Keys;
beforeEach(() => {
  const prefix = freshPrefix('cases');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
  names = createKeys(prefix);
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const T0 = Date.parse('2026-11-20T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const comment = (text: string, actor = 'alice') => (c: Case) => ({
  next: { ...c, comments: [...c.comments, { id: `c${c.comments.length + 1}`, at: at(99), actor, text }] },
  audit: { actor, action: 'case.comment', before: caseSummary(c), after: null, note: text },
});

describe('audit log', () => {
  it('lists entries newest first, filtered, across pages', async () => {
    for (let i = 0; i < 7; i++) await store.audit.append({ actor: i % 2 ? 'bob' : 'alice', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: { i } });
    const first = await store.audit.list({ actor: 'alice', limit: 2 });
    expect(first.entries.map((e) => e.object)).toEqual(['tenant:t6', 'tenant:t4']);
    const second = await store.audit.list({ actor: 'alice', limit: 2, cursor: first.nextCursor! });
    expect(second.entries.map((e) => e.object)).toEqual(['tenant:t2', 'tenant:t0']);
    expect((await store.audit.list({ actor: 'alice', limit: 2, cursor: second.nextCursor! })).entries).toEqual([]);
    expect((await store.audit.list({ object: 'tenant:t3', limit: 10 })).entries).toEqual([expect.objectContaining({ actor: 'bob', after: { i: 3 }, seq: 4 })]);
    expect((await store.audit.list({ since: new Date(Date.now() + 60_000), limit: 10 })).entries).toEqual([]);
  });

  it('chains entries: seq 1, 2, 3 each carrying the hash of the one before', async () => {
    for (let i = 0; i < 3; i++) await store.audit.append({ actor: 'root', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: null });
    const entries = [];
    for await (const e of store.audit.export({})) entries.push(e);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[0]!.prev).toBe('0'.repeat(64));
    expect(entries[1]!.prev).toBe(entries[0]!.hash);
    expect(entries[2]!.prev).toBe(entries[1]!.hash);
    expect(await store.audit.verify({})).toMatchObject({ ok: true, checked: 3, firstSeq: 1, lastSeq: 3, broken: null });
  });

  it('keeps one chain under concurrent writers (sealed in the order written)', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.audit.append({ actor: 'root', action: 'tenant.put', object: `tenant:c${i}`, before: null, after: null })));
    expect(await store.audit.verify({})).toMatchObject({ ok: true, checked: 20, lastSeq: 20 });
  });
});

describe('audit chain verification', () => {
  async function threeEntries() {
    for (let i = 0; i < 3; i++) await store.audit.append({ actor: 'root', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: { i } });
    await store.audit.seal();
    return redis.xrange(names.audit.log, '-', '+');
  }

  it('names an entry edited after it was written', async () => {
    const entries = await threeEntries();
    // Someone with Redis access rewrites the log with the second entry's actor changed.
    await redis.del(names.audit.log);
    for (const [id, fields] of entries) {
      const f = [...fields];
      if (id === entries[1]![0]) f[f.indexOf('actor') + 1] = 'mallory';
      await redis.xadd(names.audit.log, id, ...f);
    }
    const result = await store.audit.verify({});
    expect(result.ok).toBe(false);
    expect(result.broken).toMatchObject({ id: entries[1]![0], seq: 2, reason: 'hash_mismatch' });
  });

  it('names the entry after one that was deleted, and a cut-off end', async () => {
    const entries = await threeEntries();
    await redis.xdel(names.audit.log, entries[1]![0]);
    expect((await store.audit.verify({})).broken).toMatchObject({ id: entries[2]![0], seq: 3, reason: 'seq_gap' });
    await redis.xdel(names.audit.log, entries[2]![0]);
    expect((await store.audit.verify({})).broken).toMatchObject({ seq: 3, reason: 'head_mismatch' });
  });

  it('checks a range against the entry just before it', async () => {
    // Ranges are by millisecond: the entries are written a few milliseconds apart.
    for (let i = 0; i < 3; i++) {
      await store.audit.append({ actor: 'root', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: { i } });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await store.audit.seal();
    const entries = await redis.xrange(names.audit.log, '-', '+');
    const since = new Date(Number(entries[1]![0].split('-')[0]));
    expect(await store.audit.verify({ since })).toMatchObject({ ok: true, firstSeq: 2 });
  });

  it('trims entries past the retention period and still verifies what it keeps', async () => {
    const keys = createKeys(freshPrefix('retention'));
    prefixes.push(keys.prefix);
    const today = createAuditLog({ redis, keys });
    for (let i = 0; i < 3; i++) await today.append({ actor: 'root', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // A retention of 20 ms: the three entries written 50 ms ago are past it.
    const later = createAuditLog({ redis, keys, retentionDays: 20 / 86_400_000 });
    await today.seal();
    await later.append({ actor: 'root', action: 'tenant.put', object: 'tenant:t3', before: null, after: null });
    await today.releaseLease();
    await later.seal(); // trims as it seals
    const kept = await redis.xrange(keys.audit.log, '-', '+');
    expect(kept).toHaveLength(1);
    expect(await later.verify({})).toMatchObject({ ok: true, checked: 1, firstSeq: 4 });
  });
});

describe('cases', () => {
  it('groups every level of one rule and subject into one case whose severity rises', async () => {
    await store.alerts.raise(makeAlert({ level: 0.5, severity: 'medium', raisedAt: at(0) }));
    await store.alerts.raise(makeAlert({ level: 0.8, severity: 'high', raisedAt: at(10) }));
    await store.alerts.raise(makeAlert({ rule: 'velocity', level: 1, severity: 'high', raisedAt: at(11) }));
    const id = caseId({ rule: 'structuring', scope: 'group', subject: 'g-loophole' });
    const c = (await store.casebook.get(id))!;
    expect(c).toMatchObject({ status: 'open', severity: 'high', level: 0.8, observedOperations: 0.8e26, openedAt: at(0), severitySince: at(10) });
    expect(c.alerts.map((a) => a.level)).toEqual([0.5, 0.8]);
    expect(c.history.map((h) => h.action)).toEqual(['open', 'level']);
    expect(c.tenants).toEqual(['shell-01', 'shell-02']);
    const all = [];
    for await (const x of store.casebook.scan()) all.push(x.rule);
    expect(all.sort()).toEqual(['structuring', 'velocity']);
    // Alerts stay individual events: three in the outbox.
    expect(await redis.xlen(names.alerts.outbox)).toBe(3);
  });

  it('reopens a resolved case on a higher level, not on a lower one raised late', async () => {
    await store.alerts.raise(makeAlert({ level: 0.8, severity: 'high', raisedAt: at(0) }));
    const id = caseId({ rule: 'structuring', scope: 'group', subject: 'g-loophole' });
    await store.casebook.update(id, (c) => ({ next: { ...c, status: 'resolved' }, audit: { actor: 'alice', action: 'case.resolve', before: null, after: null } }));
    await store.alerts.raise(makeAlert({ level: 0.5, severity: 'medium', raisedAt: at(1) }));
    expect((await store.casebook.get(id))!.status).toBe('resolved');
    await store.alerts.raise(makeAlert({ level: 0.9, severity: 'critical', raisedAt: at(2) }));
    const c = (await store.casebook.get(id))!;
    expect(c).toMatchObject({ status: 'open', severity: 'critical', level: 0.9, severitySince: at(2) });
    expect(c.history.at(-1)).toMatchObject({ action: 'reopen', from: 'resolved', to: 'open', level: 0.9 });
    const audit = await store.audit.list({ object: `case:${id}`, limit: 10 });
    expect(audit.entries.map((e) => e.action)).toEqual(['case.reopen', 'case.alert', 'case.resolve', 'case.open']);
  });

  it('writes each case change and its audit entry together, and concurrent changes all land', async () => {
    await store.alerts.raise(makeAlert({ raisedAt: at(0) }));
    const id = caseId({ rule: 'structuring', scope: 'group', subject: 'g-loophole' });
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.casebook.update(id, comment(`note ${i}`))));
    const c = (await store.casebook.get(id))!;
    expect(c.comments.map((x) => x.text).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `note ${i}`));
    const entries = await store.audit.list({ object: `case:${id}`, limit: 50 });
    expect(entries.entries.filter((e) => e.action === 'case.comment')).toHaveLength(8);
    expect(await store.audit.verify({})).toMatchObject({ ok: true, checked: 9 });
  });

  it('leaves neither the change nor its entry when the audit entry cannot be written', async () => {
    const alert = makeAlert({ raisedAt: at(0) });
    const id = caseId(alert);
    // The unsealed audit stream's key holds the wrong type: the entry cannot be appended.
    await redis.set(names.audit.unsealed, 'not a stream');
    await expect(store.alerts.raise(alert)).rejects.toThrow(/AUDIT_LOG_WRONGTYPE/);
    expect(await store.alerts.get(alert.id)).toBeNull();
    expect(await store.casebook.get(id)).toBeNull();
    expect(await redis.exists(names.alerts.outbox, names.audit.head)).toBe(0);

    await redis.del(names.audit.unsealed);
    await store.alerts.raise(alert);
    await store.audit.seal();
    const before = await redis.get(names.cases.record(id));
    await redis.set(names.audit.unsealed, 'not a stream');
    await expect(store.casebook.update(id, comment('lost?'))).rejects.toThrow(/AUDIT_LOG_WRONGTYPE/);
    expect(await redis.get(names.cases.record(id))).toBe(before);
    expect(await redis.get(names.audit.head)).toMatch(/^1 [0-9a-f]{64}$/);
  });
});

describe('transition-alert script', () => {
  const alert = makeAlert({ observedOperations: 1.25e25 });

  it('replaces the record only if it is the version read, with alert.updated in the outbox and an audit entry', async () => {
    await store.alerts.raise(alert);
    const read = (await store.cases.raw(alert.id))!;
    expect(await store.cases.replace(alert.id, read, { ...alert, status: 'acknowledged' }, { actor: 'alice', action: 'alert.acknowledge', before: null, after: null })).toBe('replaced');
    // A second writer that read the same version loses.
    expect(await store.cases.replace(alert.id, read, { ...alert, status: 'escalated' })).toBe('conflict');
    expect(JSON.parse((await store.cases.raw(alert.id))!)).toEqual({ ...alert, status: 'acknowledged' });
    const outbox = await redis.xrange(names.alerts.outbox, '-', '+');
    expect(outbox.map(([, f]) => f[3])).toEqual(['alert.raised', 'alert.updated']);
    expect(await store.cases.replace('al_bbbbbbbbbbbbbbbbbbbbbbbb', read, alert)).toBe('missing');
    expect((await store.audit.list({ object: `alert:${alert.id}`, limit: 5 })).entries).toEqual([expect.objectContaining({ actor: 'alice', action: 'alert.acknowledge' })]);
  });

  it('keeps numbers exactly as written (the record is never re-encoded by Lua)', async () => {
    await store.alerts.raise(alert);
    const read = (await store.cases.raw(alert.id))!;
    const next = { ...alert, status: 'escalated', observedOperations: 9.87654321012345e25 };
    await store.cases.replace(alert.id, read, next);
    expect(await store.cases.raw(alert.id)).toBe(JSON.stringify(next));
  });
});

describe('on a three-node Redis Cluster', () => {
  it('raises, updates and chains in one hash slot, and verifies', async () => {
    const cluster = await startRedisCluster();
    const client = cluster.client();
    try {
      const c = createStore({ redis: client, prefix: freshPrefix('cases') });
      await c.alerts.raise(makeAlert({ level: 0.5, raisedAt: at(0) }));
      await c.alerts.raise(makeAlert({ level: 0.8, severity: 'high', raisedAt: at(1) }));
      const id = caseId({ rule: 'structuring', scope: 'group', subject: 'g-loophole' });
      await c.casebook.update(id, comment('on a cluster'));
      await c.audit.append({ actor: 'root', action: 'tenant.put', object: 'tenant:t1', before: null, after: null });
      const alert = makeAlert({ level: 0.5, raisedAt: at(0) });
      expect(await c.cases.replace(alert.id, (await c.cases.raw(alert.id))!, { ...alert, status: 'acknowledged' })).toBe('replaced');
      expect((await c.casebook.get(id))!).toMatchObject({ level: 0.8, severity: 'high', comments: [expect.objectContaining({ text: 'on a cluster' })] });
      expect(await c.audit.verify({})).toMatchObject({ ok: true, checked: 5 });
      // The queue's indexes and the case's own audit entries live in the same slot.
      expect(await c.caseIndex.queue({ status: 'active', sort: 'priority', limit: 10, now: new Date(T0), dueMs: { info: 1, low: 1, medium: 1, high: 1, critical: 1 } })).toEqual({ ids: [id], total: 1 });
      expect((await c.audit.caseEntries(id)).entries.map((e) => e.action)).toEqual(['case.comment', 'case.level', 'case.open']);
    } finally {
      client.disconnect();
      await cluster.stop();
    }
  });
});
