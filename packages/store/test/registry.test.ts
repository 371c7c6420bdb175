import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createKeys, createStore, linkIdentifiers, type Store } from '../src/index.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
beforeEach(() => {
  const prefix = freshPrefix('reg');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const tenant = (id: string, over: object = {}) => ({ id, beneficialOwners: [], identifiers: {}, ...over });

describe('linkIdentifiers', () => {
  it('normalises names so case and spacing variants of one owner link', () => {
    expect(linkIdentifiers({ beneficialOwners: [{ name: '  Zhang   WEI ' }] })).toEqual(linkIdentifiers({ beneficialOwners: [{ name: 'zhang wei' }] }));
  });
});

describe('registry groups', () => {
  it('puts a tenant with no shared identifier in a group of its own', async () => {
    await store.registry.putTenant(tenant('solo'));
    const g = await store.registry.groupOf('solo');
    expect(await store.registry.groupMembers(g!)).toEqual(['solo']);
  });

  it('links tenants that share a payment fingerprint, and pulls in a third linked through a parent', async () => {
    await store.registry.putTenant(tenant('a', { identifiers: { paymentFingerprints: ['card-1'] } }));
    await store.registry.putTenant(tenant('b', { identifiers: { paymentFingerprints: ['card-1'] }, ultimateParent: { name: 'Shell Holdings' } }));
    const { groups } = await store.registry.putTenant(tenant('c', { ultimateParent: { name: 'shell holdings' } }));
    const g = await store.registry.groupOf('a');
    expect(await store.registry.groupMembers(g!)).toEqual(['a', 'b', 'c']);
    expect(await store.registry.groupOf('c')).toBe(g);
    expect(groups.map((x) => x.groupId)).toContain(g);
  });

  it('splits a group when the only shared identifier is removed, keeping the id with the majority', async () => {
    await store.registry.putTenant(tenant('a', { identifiers: { contactDomains: ['x.example'] } }));
    await store.registry.putTenant(tenant('b', { identifiers: { contactDomains: ['x.example'] } }));
    await store.registry.putTenant(tenant('c', { identifiers: { contactDomains: ['x.example'] } }));
    const g = await store.registry.groupOf('a');
    await store.registry.putTenant(tenant('c', { identifiers: { contactDomains: ['y.example'] } }));
    expect(await store.registry.groupOf('a')).toBe(g);
    expect(await store.registry.groupMembers(g!)).toEqual(['a', 'b']);
    const gc = await store.registry.groupOf('c');
    expect(gc).not.toBe(g);
    expect(await store.registry.groupMembers(gc!)).toEqual(['c']);
  });

  it('walks a lineage to its ancestors and stops on a cycle', async () => {
    await store.registry.putLineage({ id: 'base', parentId: null });
    await store.registry.putLineage({ id: 'sft', parentId: 'base' });
    await store.registry.putLineage({ id: 'rl', parentId: 'sft' });
    expect((await store.registry.ancestors('rl')).map((l) => l.id)).toEqual(['sft', 'base']);
    await store.registry.putLineage({ id: 'base', parentId: 'rl' });
    expect((await store.registry.ancestors('rl')).map((l) => l.id)).toEqual(['sft', 'base']);
  });
});

describe('entity resolution in the registry', () => {
  it('links tenants whose owner is written in different orders, cases and scripts, and explains each link', async () => {
    await store.registry.putTenant(tenant('r1', { beneficialOwners: [{ name: 'Zhang Wei', country: 'CN' }] }));
    await store.registry.putTenant(tenant('r2', { beneficialOwners: [{ name: 'ZHANG, Wei', country: 'CN' }] }));
    await store.registry.putTenant(tenant('r3', { beneficialOwners: [{ name: '张伟' }] }));
    await store.registry.putTenant(tenant('r4', { beneficialOwners: [{ name: 'Zhang Wei', country: 'SG' }] }));
    const g = await store.registry.groupOf('r1');
    // r4's owner is declared in another country: no link to r1/r2; r3 declares none, so it links r4 too.
    expect(await store.registry.groupMembers(g!)).toEqual(['r1', 'r2', 'r3', 'r4']);
    const { edges } = await store.registry.linkEvidence(['r1', 'r2', 'r3', 'r4']);
    const pairs = edges.map((e) => `${e.a}-${e.b}`);
    expect(pairs).toEqual(['r1-r2', 'r1-r3', 'r2-r3', 'r3-r4']);
    expect(edges[0]!.reasons[0]).toMatchObject({ a: 'Zhang Wei', b: 'ZHANG, Wei', score: 1 });
  });

  it('keeps one name in two countries apart when nothing else links them', async () => {
    await store.registry.putTenant(tenant('c1', { beneficialOwners: [{ name: 'Li Na', country: 'CN' }] }));
    await store.registry.putTenant(tenant('c2', { beneficialOwners: [{ name: 'Na LI', country: 'US' }] }));
    expect(await store.registry.groupOf('c1')).not.toBe(await store.registry.groupOf('c2'));
  });

  it('does not link through a value shared by more than linkMaxShared tenants, and shows it', async () => {
    const prefix = freshPrefix('reg-wide');
    prefixes.push(prefix);
    const maxShared = 4;
    const s = createStore({ redis, prefix, linkMaxShared: maxShared });
    const ids = Array.from({ length: maxShared + 2 }, (_, i) => `w${i}`);
    for (const id of ids) await s.registry.putTenant(tenant(id, { identifiers: { contactDomains: ['webmail.example'] } }));
    // w0 and w1 also share a card: that links them; the domain links nobody once more than 4 share it.
    await s.registry.putTenant(tenant('w0', { identifiers: { contactDomains: ['webmail.example'], paymentFingerprints: ['card-9'] } }));
    await s.registry.putTenant(tenant('w1', { identifiers: { contactDomains: ['webmail.example'], paymentFingerprints: ['card-9'] } }));
    const groups = await Promise.all(ids.map((id) => s.registry.groupOf(id)));
    expect(groups[0]).toBe(groups[1]);
    expect(new Set(groups).size).toBe(ids.length - 1);
    const evidence = await s.registry.linkEvidence(['w0', 'w1', 'w2']);
    expect(evidence.edges.map((e) => [e.a, e.b, e.reasons.map((r) => r.identifier)])).toEqual([['w0', 'w1', ['paymentFingerprints:card-9']]]);
    expect(evidence.widelyShared).toEqual([{ identifier: 'contactDomains:webmail.example', tenants: ids.length }]);
  });

  it('rebuilds the index and groups of a registry linked by an older rule, once', async () => {
    const keys = createKeys(`${prefixes.at(-1)!}`);
    await store.registry.putTenant(tenant('o1', { ultimateParent: { name: 'Lionrock Compute Pte. Ltd.' } }));
    await store.registry.putTenant(tenant('o2', { ultimateParent: { name: 'Lionrock Compute Pte Ltd' } }));
    // What the earlier rule left: exact-name identifiers, each tenant alone, and no rule version.
    await redis.del(keys.registry.linksVersion);
    await dropPrefix(redis, keys.registry.identifiers);
    await redis.sadd(keys.registry.identifier('ultimateParent', 'lionrock compute pte. ltd.'), 'o1');
    await redis.sadd(keys.registry.identifier('ultimateParent', 'lionrock compute pte ltd'), 'o2');
    for (const id of ['o1', 'o2']) {
      await redis.set(keys.tenant.group(id), `g-${id}`);
      await redis.del(keys.group.members('g-o1'), keys.group.members('g-o2'));
    }
    await redis.sadd(keys.group.members('g-o1'), 'o1');
    await redis.sadd(keys.group.members('g-o2'), 'o2');
    const changed = await store.registry.rebuildLinks();
    expect(changed?.map((g) => g.members)).toEqual([['o1', 'o2']]);
    expect(await store.registry.groupOf('o2')).toBe(await store.registry.groupOf('o1'));
    expect(await redis.exists(keys.registry.identifier('ultimateParent', 'lionrock compute pte ltd'))).toBe(0);
    expect(await redis.smembers(keys.registry.identifier('ultimateParent', 'compute lionrock'))).toEqual(expect.arrayContaining(['o1', 'o2']));
    expect(await store.registry.rebuildLinks()).toBeNull();
  });
});
