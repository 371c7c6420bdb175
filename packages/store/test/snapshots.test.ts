import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Tenant } from '@flopwatch/contracts';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { OPS_PER_UNIT, createStore, type Store } from '../src/index.js';
import { HOUR, T0, record } from './fixtures.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
beforeEach(() => {
  const prefix = freshPrefix('snap');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const RATE = 1000;
const ONE_HOUR_OPS = RATE * HOUR * OPS_PER_UNIT;
const kyc = (id: string, domain: string): Tenant => ({
  id, legalName: `${id} Ltd`, hqCountry: 'SG', ultimateParent: null, beneficialOwners: [], identifiers: { paymentFingerprints: [], contactDomains: [domain] },
  kycStatus: 'pending', validatedEndUser: false, entityListMatch: false, notes: '',
});

describe('subject snapshots', () => {
  it('builds tenant, group and lineage snapshots at the later of the event clock and the subjects\' latest usage, each tenant read once', async () => {
    await store.registry.putTenant(kyc('a', 'shell.example'));
    await store.registry.putTenant(kyc('b', 'shell.example'));
    await store.accounting.applyBatch([
      record({ offset: '1', tenantId: 'a', jobKey: 'c/a', teraOpsPerMs: RATE, lineageId: 'm' }),
      record({ offset: '2', tenantId: 'b', jobKey: 'c/b', teraOpsPerMs: RATE, lineageId: 'm', startMs: T0 + HOUR, endMs: T0 + 2 * HOUR }),
    ]);
    const wall = T0 + 100 * HOUR;
    let read = 0;
    const reader = store.snapshots.reader({ now: () => wall, tenant: async (id) => {
      read++;
      return { record: await store.registry.getTenant<Tenant>(id), groupId: await store.registry.groupOf(id) };
    } });

    // No event clock yet: each subject at its own latest usage.
    const a = await reader.forTenant('a');
    expect(a).toMatchObject({ scope: 'tenant', subject: 'a', asOfMs: T0 + HOUR, tenant: { id: 'a', record: { id: 'a' }, books: { split: { all: ONE_HOUR_OPS } } } });
    const groupId = a.tenant.groupId!;
    expect(groupId).toBeTruthy();
    const group = await reader.forGroup(groupId);
    expect(group.members.map((m) => m.id).sort()).toEqual(['a', 'b']);
    expect(group.asOfMs).toBe(T0 + 2 * HOUR);
    const lineage = await reader.forLineage('m');
    expect(Object.keys(lineage.lineage.own).sort()).toEqual(['a', 'b']);
    expect(lineage.tenants.map((t) => t.id).sort()).toEqual(['a', 'b']);
    expect(read).toBe(2);

    // The event clock ahead of every subject: everything at the clock; a fresh reader reads it anew.
    await store.books.advanceClock(T0 + 10 * HOUR);
    expect((await reader.forTenant('a')).asOfMs).toBe(T0 + HOUR);
    expect((await store.snapshots.reader({ now: () => wall }).forSubject('group', groupId)).asOfMs).toBe(T0 + 10 * HOUR);
    // Empty books, no clock: the wall clock.
    const emptyPrefix = freshPrefix('snap-empty');
    prefixes.push(emptyPrefix);
    const empty = createStore({ redis, prefix: emptyPrefix });
    expect((await empty.snapshots.reader({ now: () => wall }).forTenant('nobody')).asOfMs).toBe(wall);
  });
});
