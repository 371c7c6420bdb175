import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl } from '@flopwatch/test-harness';
import { createStore, deliveryId, type Store, type WebhookEndpoint } from '../src/index.js';

const redis = new Redis(redisUrl());
const prefixes: string[] = [];
let store: Store;
beforeEach(() => {
  const prefix = freshPrefix('wh');
  prefixes.push(prefix);
  store = createStore({ redis, prefix });
});
afterAll(async () => {
  await dropPrefix(redis, ...prefixes);
  redis.disconnect();
});

const endpoint = (id: string): WebhookEndpoint => ({
  id, url: 'https://hooks.example.com/x', description: '', filter: { minSeverity: null, rules: [], tenants: [] }, createdAt: new Date(1_000).toISOString(), disabled: null,
});
const attempt = (outcome: 'delivered' | 'retry' | 'dead', status: number | null = 500) => ({ at: new Date().toISOString(), status, durationMs: 5, outcome, error: outcome === 'delivered' ? null : 'HTTP 500', response: '' });
const newDelivery = { endpointId: 'we_1', messageId: 'msg_a', eventType: 'alert.raised', alertId: 'al_1', body: '{"x":1}' };

describe('webhook store', () => {
  it('creates a delivery once however often the same message is fanned out', async () => {
    const first = await store.webhooks.enqueue(newDelivery, 1_000);
    const again = await store.webhooks.enqueue(newDelivery, 2_000);
    expect(first).toEqual({ id: deliveryId('we_1', 'msg_a'), created: true });
    expect(again).toEqual({ id: first.id, created: false });
    expect(await store.webhooks.pendingCount()).toBe(1);
    expect(await store.webhooks.getDelivery(first.id)).toMatchObject({ status: 'pending', attempts: 0, messageId: 'msg_a', body: '{"x":1}', nextAt: 1_000 });
  });

  it('lets only one of two concurrent claimers take a due delivery, and hands it out again when the lease runs out', async () => {
    const { id } = await store.webhooks.enqueue(newDelivery, 1_000);
    const [a, b] = await Promise.all([store.webhooks.claimDue(1_000, 5_000, 10), store.webhooks.claimDue(1_000, 5_000, 10)]);
    expect([...a, ...b]).toEqual([id]);
    expect(await store.webhooks.claimDue(4_999, 9_000, 10)).toEqual([]);
    expect(await store.webhooks.claimDue(5_000, 9_000, 10)).toEqual([id]);
  });

  it('drops a stale settle from a claim whose lease another instance took over', async () => {
    const { id } = await store.webhooks.enqueue(newDelivery, 0);
    const d = (await store.webhooks.getDelivery(id))!;
    expect((await store.webhooks.settle({ delivery: d, outcome: 'retry', nextAt: 10, now: 1, attempt: attempt('retry'), reachedEndpoint: true })).applied).toBe(true);
    expect((await store.webhooks.settle({ delivery: d, outcome: 'delivered', now: 2, attempt: attempt('delivered', 200), reachedEndpoint: true })).applied).toBe(false);
    expect(await store.webhooks.getDelivery(id)).toMatchObject({ status: 'pending', attempts: 1, nextAt: 10, lastStatus: 500 });
  });

  it('dead-letters, lists and redelivers with the same message id and a fresh round', async () => {
    await store.webhooks.createEndpoint(endpoint('we_1'), 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0');
    const { id } = await store.webhooks.enqueue(newDelivery, 0);
    let d = (await store.webhooks.getDelivery(id))!;
    const r = await store.webhooks.settle({ delivery: d, outcome: 'dead', now: 50, attempt: attempt('dead'), reachedEndpoint: true });
    expect(r).toEqual({ applied: true, failingSince: 50 });
    expect((await store.webhooks.listDeadLetters()).map((x) => x.id)).toEqual([id]);
    expect((await store.webhooks.listDeadLetters({ endpointId: 'we_other' }))).toEqual([]);
    expect(await store.webhooks.pendingCount()).toBe(0);

    expect(await store.webhooks.redeliver(id, 100)).toBe('scheduled');
    expect(await store.webhooks.redeliver(id, 100)).toBe('pending');
    expect(await store.webhooks.redeliver('dlv_nope', 100)).toBe('not_found');
    d = (await store.webhooks.getDelivery(id))!;
    expect(d).toMatchObject({ status: 'pending', attempts: 1, roundStart: 1, messageId: 'msg_a', deadAt: null });
    expect(await store.webhooks.listDeadLetters()).toEqual([]);
    expect(await store.webhooks.claimDue(100, 200, 10)).toEqual([id]);
    expect((await store.webhooks.settle({ delivery: d, outcome: 'delivered', now: 150, attempt: attempt('delivered', 204), reachedEndpoint: true })).failingSince).toBeNull();
    expect(await store.webhooks.failingSince('we_1')).toBeNull();
    expect((await store.webhooks.getAttempts(id)).map((a) => a.status)).toEqual([500, 204]);
    expect((await store.webhooks.listDeliveries('we_1')).map((x) => x.status)).toEqual(['delivered']);
  });

  it('keeps the first failure time of an endpoint until a success', async () => {
    const a = await store.webhooks.enqueue(newDelivery, 0);
    const b = await store.webhooks.enqueue({ ...newDelivery, messageId: 'msg_b' }, 0);
    const da = (await store.webhooks.getDelivery(a.id))!;
    const db = (await store.webhooks.getDelivery(b.id))!;
    await store.webhooks.settle({ delivery: da, outcome: 'retry', nextAt: 99, now: 10, attempt: attempt('retry'), reachedEndpoint: true });
    expect((await store.webhooks.settle({ delivery: db, outcome: 'retry', nextAt: 99, now: 20, attempt: attempt('retry'), reachedEndpoint: true })).failingSince).toBe(10);
  });

  it('signs with the old secret too until its grace period ends after a rotation', async () => {
    await store.webhooks.createEndpoint(endpoint('we_1'), 'whsec_b2xkb2xkb2xkb2xkb2xkb2xk');
    expect(await store.webhooks.rotateSecret('we_1', 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3', 1_000, 10_000)).toBe(true);
    expect(await store.webhooks.signingSecrets('we_1', 10_500)).toEqual(['whsec_bmV3bmV3bmV3bmV3bmV3bmV3', 'whsec_b2xkb2xkb2xkb2xkb2xkb2xk']);
    expect(await store.webhooks.signingSecrets('we_1', 11_000)).toEqual(['whsec_bmV3bmV3bmV3bmV3bmV3bmV3']);
    expect(await store.webhooks.rotateSecret('we_missing', 'whsec_x', 1, 1)).toBe(false);
  });

  it('lists, disables with a reason, and deletes endpoints', async () => {
    await store.webhooks.createEndpoint(endpoint('we_1'), 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0');
    await store.webhooks.createEndpoint({ ...endpoint('we_2'), createdAt: new Date(2_000).toISOString() }, 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0');
    expect((await store.webhooks.listEndpoints()).map((e) => e.id)).toEqual(['we_1', 'we_2']);
    expect((await store.webhooks.disableEndpoint('we_1', 'failing for 5 days'))?.disabled?.reason).toBe('failing for 5 days');
    expect((await store.webhooks.getEndpoint('we_1'))?.disabled?.reason).toBe('failing for 5 days');
    expect(await store.webhooks.deleteEndpoint('we_1')).toBe(true);
    expect(await store.webhooks.deleteEndpoint('we_1')).toBe(false);
    expect(await store.webhooks.signingSecrets('we_1')).toEqual([]);
    expect((await store.webhooks.listEndpoints()).map((e) => e.id)).toEqual(['we_2']);
  });
});

describe('webhook dead-letter reasons', () => {
  it('files a delivery for a disabled endpoint straight as an endpoint_disabled dead letter, once, and redelivers all of an endpoint', async () => {
    const a = await store.webhooks.enqueue({ ...newDelivery, deadReason: 'endpoint_disabled' }, 500);
    const again = await store.webhooks.enqueue({ ...newDelivery, deadReason: 'endpoint_disabled' }, 600);
    const b = await store.webhooks.enqueue({ ...newDelivery, messageId: 'msg_b', deadReason: 'endpoint_disabled' }, 700);
    expect(again.created).toBe(false);
    expect(await store.webhooks.pendingCount()).toBe(0);
    expect(await store.webhooks.getDelivery(a.id)).toMatchObject({ status: 'dead', deadReason: 'endpoint_disabled', deadAt: 500, attempts: 0, nextAt: null });
    expect((await store.webhooks.listDeadLetters({ endpointId: 'we_1' })).map((d) => d.id)).toEqual([b.id, a.id]);
    expect((await store.webhooks.listDeliveries('we_1')).map((d) => d.id)).toEqual([b.id, a.id]);

    expect((await store.webhooks.redeliverDeadLetters('we_1', 900)).sort()).toEqual([a.id, b.id].sort());
    expect(await store.webhooks.getDelivery(a.id)).toMatchObject({ status: 'pending', deadReason: null, deadAt: null, nextAt: 900 });
    expect(await store.webhooks.pendingCount()).toBe(2);
    expect(await store.webhooks.deadLetterCount()).toBe(0);
  });

  it('keeps the reason a settle gives a dead letter, and retries_exhausted when it gives none', async () => {
    const { id } = await store.webhooks.enqueue(newDelivery, 0);
    const [claimed] = await store.webhooks.claimDue(0, 100, 1);
    const d = (await store.webhooks.getDelivery(claimed!))!;
    await store.webhooks.settle({ delivery: d, outcome: 'dead', now: 50, attempt: attempt('dead', 403), reachedEndpoint: true, deadReason: 'http_rejected' });
    expect(await store.webhooks.getDelivery(id)).toMatchObject({ status: 'dead', deadReason: 'http_rejected', attempts: 1 });
    const other = await store.webhooks.enqueue({ ...newDelivery, messageId: 'msg_c' }, 0);
    await store.webhooks.claimDue(0, 100, 5);
    await store.webhooks.settle({ delivery: (await store.webhooks.getDelivery(other.id))!, outcome: 'dead', now: 60, attempt: attempt('dead'), reachedEndpoint: true });
    expect((await store.webhooks.getDelivery(other.id))?.deadReason).toBe('retries_exhausted');
  });
});
