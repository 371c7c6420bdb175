import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createStore, linkIdentifiers, type Store } from '../src/index.js';

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
