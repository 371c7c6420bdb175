import { describe, expect, it } from 'vitest';
import { waitFor } from '@flopwatch/test-harness';
import { alertMessageId } from '@flopwatch/webhooks';
import { addEndpoint, notifierTestEnv, collectTopic, makeAlert, startNotifier, startReceiver } from './helpers.js';

const { redis, cleanups, setup } = notifierTestEnv('notif');

describe('notifier', () => {
  it('publishes every raised alert to Kafka and delivers one signed message per alert to each matching endpoint', async () => {
    const { prefix, store, keys, topic, group } = setup();
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    cleanups.push(receiver.close);
    const all = await addEndpoint(store, receiver.url);
    const criticalOnly = await addEndpoint(store, receiver.url.replace('/hook', '/critical'), { minSeverity: 'critical' });
    secrets.push(all.secret, criticalOnly.secret);

    const alerts = [makeAlert('tenant-a'), makeAlert('tenant-b', { severity: 'critical' }), makeAlert('tenant-c', { severity: 'low' })];
    for (const a of alerts) await store.alerts.raise(a);
    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);
    const kafka = await collectTopic(topic);
    cleanups.push(kafka.close);

    await waitFor(() => kafka.records.length >= 3 && receiver.received.length >= 4, { what: 'kafka records and deliveries', timeoutMs: 20_000 });
    expect(kafka.records.map((r) => r.key).sort()).toEqual(['tenant-a', 'tenant-b', 'tenant-c']);
    expect(kafka.records.every((r) => r.type === 'alert.raised')).toBe(true);
    expect(kafka.records.find((r) => r.key === 'tenant-b')?.value.id).toBe(alerts[1]!.id);

    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received).toHaveLength(4);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    const ids = receiver.received.map((r) => r.webhookId);
    expect(new Set(ids)).toEqual(new Set(alerts.map((a) => alertMessageId(a.id, 'alert.raised'))));
    const body = JSON.parse(receiver.received.find((r) => r.webhookId === alertMessageId(alerts[1]!.id, 'alert.raised'))!.body) as { type: string; data: { id: string } };
    expect(body).toMatchObject({ type: 'alert.raised', data: { id: alerts[1]!.id } });
    expect((await store.webhooks.listDeliveries(criticalOnly.id)).map((d) => d.alertId)).toEqual([alerts[1]!.id]);
    expect(await redis.xpending(keys.alerts.outbox, group)).toEqual([0, null, null, null]);
  });

  it('retries a failing receiver with the same webhook-id, honouring Retry-After, then delivers', async () => {
    const { prefix, store, topic, group } = setup();
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets, (_, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : n === 2 ? { status: 500 } : { status: 200 }));
    cleanups.push(receiver.close);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);
    const alert = makeAlert('tenant-r');
    await store.alerts.raise(alert);
    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);

    const delivered = await waitFor(async () => {
      const [d] = await store.webhooks.listDeliveries(ep.id);
      return d?.status === 'delivered' ? d : null;
    }, { what: 'delivery after retries', timeoutMs: 20_000 });
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.webhookId))).toEqual(new Set([alertMessageId(alert.id, 'alert.raised')]));
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    // Retry-After: 1 s beat the 50 ms schedule entry.
    expect(receiver.received[1]!.at - receiver.received[0]!.at).toBeGreaterThanOrEqual(950);
    expect(delivered.attempts).toBe(3);
    expect((await store.webhooks.getAttempts(delivered.id)).map((a) => [a.status, a.outcome])).toEqual([[503, 'retry'], [500, 'retry'], [200, 'delivered']]);
  });

  it('dead-letters a message whose receiver never succeeds, and delivers it with the same webhook-id when redelivered', async () => {
    const { prefix, store, topic, group } = setup();
    const secrets: string[] = [];
    let healthy = false;
    const receiver = await startReceiver(() => secrets, () => ({ status: healthy ? 200 : 500 }));
    cleanups.push(receiver.close);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);
    const alert = makeAlert('tenant-d');
    await store.alerts.raise(alert);
    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);

    const [dead] = await waitFor(async () => {
      const list = await store.webhooks.listDeadLetters({ endpointId: ep.id });
      return list.length > 0 ? list : null;
    }, { what: 'dead letter', timeoutMs: 20_000 });
    expect(dead).toMatchObject({ status: 'dead', attempts: 4, lastStatus: 500, alertId: alert.id });
    expect(receiver.received).toHaveLength(4);

    healthy = true;
    expect(await store.webhooks.redeliver(dead!.id)).toBe('scheduled');
    await waitFor(async () => (await store.webhooks.getDelivery(dead!.id))?.status === 'delivered', { what: 'redelivery', timeoutMs: 10_000 });
    expect(receiver.received).toHaveLength(5);
    expect(new Set(receiver.received.map((r) => r.webhookId)).size).toBe(1);
    expect(await store.webhooks.listDeadLetters()).toEqual([]);
  });

  it('disables an endpoint that keeps failing past the configured period and says why', async () => {
    const { prefix, store, topic, group } = setup();
    const receiver = await startReceiver(() => [], () => ({ status: 500 }));
    cleanups.push(receiver.close);
    const ep = await addEndpoint(store, receiver.url);
    await store.alerts.raise(makeAlert('tenant-x'));
    const n = await startNotifier({ prefix, topic, group, scheduleMs: [100, 100, 100, 100], disableAfterMs: 150 });
    cleanups.push(n.close);
    const disabled = await waitFor(async () => (await store.webhooks.getEndpoint(ep.id))?.disabled, { what: 'endpoint disabled', timeoutMs: 10_000 });
    expect(disabled.reason).toMatch(/failing without a successful delivery since .* \(last error: HTTP 500\)/);
    const [d] = await waitFor(async () => {
      const list = await store.webhooks.listDeadLetters({ endpointId: ep.id });
      return list.length > 0 ? list : null;
    }, { what: 'dead letter of the disabled endpoint' });
    expect(d!.lastError).toMatch(/endpoint disabled/);
  });
});
