import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { caseId, caseSummary, type Case } from '@flopwatch/contracts';
import { dropPrefix, freshPrefix, redisUrl, waitFor } from '@flopwatch/test-harness';
import { ChangeUnconfirmedError, createAuditLog, createKeys, createStore, startAuditSealer, type AuditIntent, type Keys, type Store } from '../src/index.js';
import { makeAlert } from './alert-fixture.js';

const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
const prefixes: string[] = [];
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});
/** A store under a fresh prefix, and its key names for reading Redis through this test's client. */
function fresh(): { store: Store; names: Keys } {
  const prefix = freshPrefix('seal');
  prefixes.push(prefix);
  return { store: createStore({ redis, prefix }), names: createKeys(prefix) };
}

const LEVELS = [0.1, 0.25, 0.5, 0.8, 0.9, 1.0];
const kycRecord = (id: string, n: number) => ({ id, legalName: `${id} Ltd ${n}`, hqCountry: 'SG', ultimateParent: null, beneficialOwners: [], identifiers: { paymentFingerprints: [], contactDomains: [] }, kycStatus: 'pending', validatedEndUser: false, entityListMatch: false, notes: '' });
const comment = (text: string) => (c: Case) => ({
  next: { ...c, comments: [...c.comments, { id: `c${c.comments.length + 1}`, at: new Date().toISOString(), actor: 'alice', text }] },
  audit: { actor: 'alice', action: 'case.comment', before: caseSummary(c), after: null, note: text },
});

describe('writers and the sealer', () => {
  it('loses nothing under many concurrent writers (alert raises, case changes, KYC changes) while two replicas seal, and the chain is gapless', async () => {
    const { store, names } = fresh();
    // A second replica of the same deployment: its own sealer candidate (its own lease token).
    const other = createStore({ redis, prefix: names.prefix });
    const sealers = [startAuditSealer({ audit: store.audit, intervalMs: 5 }), startAuditSealer({ audit: other.audit, intervalMs: 5 })];
    const SUBJECTS = 40;
    const TENANTS = 60;
    const COMMENTS = 30;
    // Every level of a subject goes to one case: six raises contend on each case, forty cases at once.
    const raises = Array.from({ length: SUBJECTS }, (_, s) => LEVELS.map((level) => makeAlert({ subject: `g-${s}`, level }))).flat();
    await store.alerts.raise(makeAlert({ subject: 'g-commented', level: 0.1 }));
    const commented = caseId(makeAlert({ subject: 'g-commented' }));
    const writers = [
      ...raises.map((a, i) => (i % 2 ? store : other).alerts.raise(a)),
      ...Array.from({ length: TENANTS }, (_, i) => (i % 2 ? store : other).audit.record(
        { actor: 'root', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: kycRecord(`t${i}`, i) },
        () => store.registry.putTenant(kycRecord(`t${i}`, i)),
        (saved) => ({ before: saved.before }),
      )),
      ...Array.from({ length: COMMENTS }, (_, i) => (i % 2 ? store : other).casebook.update(commented, comment(`note ${i}`))),
    ];
    const results = await Promise.allSettled(writers);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    await Promise.all(sealers.map((s) => s.close()));

    // One opening entry per case, one per further level, one per tenant, one per comment, plus the commented case's opening.
    const expected = raises.length + TENANTS + COMMENTS + 1;
    const verified = await store.audit.verify({});
    expect(verified).toMatchObject({ ok: true, checked: expected, firstSeq: 1, lastSeq: expected, broken: null, unsealed: 0, unconfirmed: [] });
    for (let s = 0; s < SUBJECTS; s++) {
      const c = (await store.casebook.get(caseId(makeAlert({ subject: `g-${s}` }))))!;
      expect(c.alerts.map((a) => a.level).sort((x, y) => x - y)).toEqual(LEVELS);
    }
    expect((await store.casebook.get(commented))!.comments).toHaveLength(COMMENTS);
    const objects = new Map<string, number>();
    for await (const e of store.audit.export({})) objects.set(e.object, (objects.get(e.object) ?? 0) + 1);
    for (let i = 0; i < TENANTS; i++) expect(objects.get(`tenant:t${i}`)).toBe(1);
    for (let s = 0; s < SUBJECTS; s++) expect(objects.get(`case:${caseId(makeAlert({ subject: `g-${s}` }))}`)).toBe(LEVELS.length);
    expect(objects.get(`case:${commented}`)).toBe(COMMENTS + 1);
  });

  it('lets one sealer seal at a time: one that crashed holding the lease is taken over when it lapses, and one that wakes up late cannot fork the chain', async () => {
    const keys = createKeys(freshPrefix('seal'));
    prefixes.push(keys.prefix);
    const a = createAuditLog({ redis, keys, sealerLeaseMs: 300 });
    const b = createAuditLog({ redis, keys, sealerLeaseMs: 300 });
    const entry = (i: number) => ({ actor: 'root', action: 'tenant.put', object: `tenant:t${i}`, before: null, after: { i } });
    for (let i = 0; i < 5; i++) await a.append(entry(i));
    expect(await a.seal()).toEqual({ sealed: 5, leader: true });
    // a "crashes" holding its lease: b cannot seal until the lease lapses.
    for (let i = 5; i < 9; i++) await b.append(entry(i));
    expect(await b.seal()).toEqual({ sealed: 0, leader: false });
    expect(await b.unsealedCount()).toBe(4);
    await waitFor(async () => (await redis.exists(keys.audit.sealer)) === 0, { what: "a's lease to lapse", timeoutMs: 5_000 });
    expect(await b.seal()).toEqual({ sealed: 4, leader: true });
    // a comes back believing it still leads: the script refuses it (the lease is b's), nothing forks.
    await b.append(entry(9));
    const stale = await a.seal();
    expect(stale.sealed).toBe(0);
    expect(stale.leader).toBe(false);
    expect(await b.seal()).toEqual({ sealed: 1, leader: true });
    // Idempotent: nothing left, nothing sealed twice.
    expect(await b.seal()).toEqual({ sealed: 0, leader: true });
    expect(await b.verify({})).toMatchObject({ ok: true, checked: 10, firstSeq: 1, lastSeq: 10, unsealed: 0 });
    const sealed = await redis.xrange(keys.audit.log, '-', '+');
    expect(sealed.map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]!).after.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('a change in another slot and its entry', () => {
  const tenant = (id: string) => kycRecord(id, 1);
  const put = (store: Store, id: string) => store.audit.record(
    { actor: 'root', action: 'tenant.put', object: `tenant:${id}`, before: null, after: tenant(id) },
    () => store.registry.putTenant(tenant(id)),
    (saved) => ({ before: saved.before }),
  );
  const holdsChange = (store: Store) => async (intent: AuditIntent) =>
    JSON.stringify(await store.registry.getTenant(intent.object.slice('tenant:'.length))) === JSON.stringify(intent.after) ? 'applied' as const : 'unknown' as const;

  it('names a change that failed half-way (a Redis error after the record was written) until it is confirmed', async () => {
    const { store, names } = fresh();
    // The registry's tenant index holds the wrong type: putTenant writes the KYC record, then fails.
    await redis.set(names.registry.tenants, 'not a sorted set');
    const err = await put(store, 'half').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChangeUnconfirmedError);
    expect(await store.registry.getTenant('half')).toEqual(tenant('half'));
    const named = await store.audit.verify({});
    expect(named.ok).toBe(false);
    expect(named.broken).toBeNull();
    expect(named.unconfirmed).toEqual([expect.objectContaining({ id: (err as ChangeUnconfirmedError).intentId, action: 'tenant.put', object: 'tenant:half', error: expect.stringMatching(/WRONGTYPE/) })]);
    // Still named while nobody settles it.
    expect((await store.audit.verify({})).unconfirmed).toHaveLength(1);

    await redis.del(names.registry.tenants);
    expect(await store.audit.settle(holdsChange(store), 0)).toEqual({ confirmed: 1, dropped: 0, open: 0 });
    const after = await store.audit.verify({});
    expect(after).toMatchObject({ ok: true, checked: 1, unconfirmed: [] });
    const [entry] = (await store.audit.list({ object: 'tenant:half', limit: 5 })).entries;
    expect(entry).toMatchObject({ action: 'tenant.put', after: tenant('half'), note: expect.stringMatching(/^confirmed after the change was found in place \(its writer saw: .*WRONGTYPE/) });
  });

  it('keeps the change and its intent when the entry cannot be appended after it, and confirms it later', async () => {
    const { store, names } = fresh();
    await redis.set(names.audit.unsealed, 'not a stream');
    const saved = await put(store, 'kept');
    expect(saved.before).toBeNull();
    expect(await store.registry.getTenant('kept')).toEqual(tenant('kept'));
    expect(await store.audit.intents()).toEqual([expect.objectContaining({ object: 'tenant:kept' })]);
    await redis.del(names.audit.unsealed);
    expect((await store.audit.verify({})).unconfirmed).toEqual([expect.objectContaining({ object: 'tenant:kept' })]);
    expect(await store.audit.settle(holdsChange(store), 0)).toMatchObject({ confirmed: 1 });
    expect(await store.audit.verify({})).toMatchObject({ ok: true, checked: 1, unconfirmed: [] });
  });

  it('writes nothing when the intent cannot be recorded, and drops the intent of a change refused before it was made', async () => {
    const { store, names } = fresh();
    await redis.set(names.audit.intents, 'not a hash');
    await expect(put(store, 'never')).rejects.toThrow(/WRONGTYPE/);
    expect(await store.registry.getTenant('never')).toBeNull();
    await redis.del(names.audit.intents);

    const refused = Object.assign(new Error('refused by a check'), { retryable: false });
    await expect(store.audit.record({ actor: 'root', action: 'tenant.put', object: 'tenant:no', before: null, after: null }, () => Promise.reject(refused))).rejects.toBe(refused);
    expect(await store.audit.intents()).toEqual([]);
    expect(await store.audit.verify({})).toMatchObject({ ok: true, checked: 0, unconfirmed: [] });
  });
});
