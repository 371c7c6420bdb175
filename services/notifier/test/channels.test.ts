import { execFile } from 'node:child_process';
import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKeys } from '@flopwatch/store';
import { freshTopics, redisUrl, testKafka, waitFor } from '@flopwatch/test-harness';
import { alertMessageId } from '@flopwatch/webhooks';
import { addEndpoint, notifierTestEnv, collectTopic, counterValue, makeAlert, startNotifier, startReceiver } from './helpers.js';

const { redis, cleanups, setup } = notifierTestEnv('chan');

// A retry schedule whose first retry comes after any wait in these tests: a dead letter seen within
// them was filed without a retry.
const SLOW_SCHEDULE = [120_000, 120_000];

describe('webhook channel', () => {
  it('keeps the messages of a disabled endpoint as endpoint_disabled dead letters and delivers them once it is enabled again', async () => {
    const { prefix, store, keys, topic, group } = setup();
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    cleanups.push(receiver.close);
    const live = await addEndpoint(store, `${receiver.url}?ep=live`);
    const parked = await addEndpoint(store, `${receiver.url}?ep=parked`);
    secrets.push(live.secret, parked.secret);
    await store.webhooks.disableEndpoint(parked.id, 'maintenance window');
    const alerts = [makeAlert('tenant-dis-1'), makeAlert('tenant-dis-2')];
    for (const a of alerts) await store.alerts.raise(a);
    const expectedIds = alerts.map((a) => alertMessageId(a.id, 'alert.raised')).sort();

    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);
    const dead = await waitFor(async () => {
      const list = await store.webhooks.listDeadLetters({ endpointId: parked.id });
      return list.length === 2 ? list : null;
    }, { what: "the disabled endpoint's dead letters" });
    expect(dead.map((d) => d.deadReason)).toEqual(['endpoint_disabled', 'endpoint_disabled']);
    expect(dead.map((d) => d.messageId).sort()).toEqual(expectedIds);
    expect(dead.every((d) => d.attempts === 0)).toBe(true);
    await waitFor(() => receiver.received.filter((r) => r.path.endsWith('ep=live')).length === 2, { what: 'deliveries to the enabled endpoint' });
    expect(receiver.received.some((r) => r.path.endsWith('ep=parked'))).toBe(false);
    expect(await counterValue(n.metrics, 'flopwatch_webhook_dead_letters_total', { reason: 'endpoint_disabled' })).toBe(2);
    await waitFor(async () => ((await redis.xpending(keys.alerts.outbox, group)) as [number])[0] === 0, { what: 'entries acknowledged' });

    await store.webhooks.enableEndpoint(parked.id);
    expect((await store.webhooks.redeliverDeadLetters(parked.id)).sort()).toEqual(dead.map((d) => d.id).sort());
    await waitFor(() => receiver.received.filter((r) => r.path.endsWith('ep=parked')).length === 2, { what: 'the kept messages delivered after enabling' });
    const late = receiver.received.filter((r) => r.path.endsWith('ep=parked'));
    expect(late.map((r) => r.webhookId).sort()).toEqual(expectedIds);
    expect(late.every((r) => r.verified)).toBe(true);
    expect(await store.webhooks.listDeadLetters({ endpointId: parked.id })).toEqual([]);
  });

  it('dead-letters at once, without a retry, a message to a forbidden address and one a receiver answers 403, and retries a 429', async () => {
    const { prefix, store, topic, group } = setup();
    const receiver = await startReceiver(() => [], (r) => ({ status: r.path.endsWith('ep=gone') ? 403 : 429 }));
    cleanups.push(receiver.close);
    // 10.0.0.0/8 is private and not on the test allow-list (127.0.0.1/32).
    const forbidden = await addEndpoint(store, 'http://10.11.12.13/hook');
    const gone = await addEndpoint(store, `${receiver.url}?ep=gone`);
    const busy = await addEndpoint(store, `${receiver.url}?ep=busy`);
    await store.alerts.raise(makeAlert('tenant-perm'));

    const n = await startNotifier({ prefix, topic, group, scheduleMs: SLOW_SCHEDULE });
    cleanups.push(n.close);
    const deadOf = async (endpointId: string) => (await store.webhooks.listDeadLetters({ endpointId }))[0] ?? null;
    const refused = await waitFor(() => deadOf(forbidden.id), { what: 'the forbidden address dead-lettered' });
    expect(refused).toMatchObject({ status: 'dead', attempts: 1, deadReason: 'url_policy', lastStatus: null });
    expect(refused.lastError).toMatch(/forbidden address/);
    const rejected = await waitFor(() => deadOf(gone.id), { what: 'the 403 dead-lettered' });
    expect(rejected).toMatchObject({ status: 'dead', attempts: 1, deadReason: 'http_rejected', lastStatus: 403 });
    expect(receiver.received.filter((r) => r.path.endsWith('ep=gone'))).toHaveLength(1);

    const [retrying] = await waitFor(async () => {
      const list = await store.webhooks.listDeliveries(busy.id);
      return list[0]?.attempts === 1 ? list : null;
    }, { what: 'the 429 attempted' });
    expect(retrying).toMatchObject({ status: 'pending', lastStatus: 429 });
    expect(retrying!.nextAt! - retrying!.lastAttemptAt!).toBeGreaterThan(60_000);
    expect(await counterValue(n.metrics, 'flopwatch_webhook_dead_letters_total', { reason: 'url_policy' })).toBe(1);
    expect(await counterValue(n.metrics, 'flopwatch_webhook_dead_letters_total', { reason: 'http_rejected' })).toBe(1);
  });
});

describe('channels of one outbox entry', () => {
  it('publishes to Kafka once while webhooks fail: the alerts topic is not repeated when the entry is taken over', async () => {
    const { prefix, store, keys, topic, group } = setup();
    const alert = makeAlert('tenant-once');
    await store.alerts.raise(alert);
    // The first notifier publishes, then stops before the other channels finish: its entry stays pending.
    const [entry] = (await redis.xrange(keys.alerts.outbox, '-', '+')) as [string, string[]][];
    await store.notifyChannels.settle(group, entry![0], 'kafka', 'done', ['kafka', 'webhooks']);
    await redis.xgroup('CREATE', keys.alerts.outbox, group, '0');
    await redis.xreadgroup('GROUP', group, 'gone', 'COUNT', 10, 'STREAMS', keys.alerts.outbox, '>');
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    cleanups.push(receiver.close);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);

    const n = await startNotifier({ prefix, topic, group, claimIdleMs: 200 });
    cleanups.push(n.close);
    const kafka = await collectTopic(topic);
    cleanups.push(kafka.close);
    await waitFor(() => receiver.received.length === 1, { what: 'the webhook of the taken-over entry' });
    await waitFor(async () => ((await redis.xpending(keys.alerts.outbox, group)) as [number])[0] === 0, { what: 'entry acknowledged' });
    expect(await redis.xlen(keys.alerts.outbox)).toBe(0);
    expect(await redis.exists(keys.alerts.channels(entry![0]))).toBe(0);
    // The topic was marked done before this notifier ran, so it never published.
    expect(await counterValue(n.metrics, 'flopwatch_notifier_alerts_published_total')).toBe(0);
    expect(kafka.records).toEqual([]);
  });
});

describe('Kafka channel', () => {
  it('publishes a burst of alerts far above the topic limit whole, in several requests, each once', async () => {
    const { prefix, store, keys, group } = setup();
    const limit = 8_000;
    const [topic] = await freshTopics(['alerts-burst'], { numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(limit) }] });
    const alerts = Array.from({ length: 40 }, (_, i) => {
      const a = makeAlert(`tenant-burst-${i}`);
      a.hardware.models = Array.from({ length: 10 }, (_, m) => `model-${m}-${'x'.repeat(60)}`);
      return a;
    });
    const bytes = alerts.reduce((s, a) => s + JSON.stringify(a).length, 0);
    expect(bytes).toBeGreaterThan(5 * limit);
    for (const a of alerts) await store.alerts.raise(a);
    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);
    const kafka = await collectTopic(topic);
    cleanups.push(kafka.close);
    await waitFor(() => kafka.records.length >= alerts.length, { what: 'every alert on the topic', timeoutMs: 20_000 });
    await waitFor(async () => ((await redis.xpending(keys.alerts.outbox, group)) as [number])[0] === 0 && (await redis.xlen(keys.alerts.outbox)) === 0, { what: 'every entry acknowledged' });
    expect(kafka.records.map((r) => r.value.id).sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(await counterValue(n.metrics, 'flopwatch_notifier_alerts_published_total')).toBe(alerts.length);
    expect(await store.notifyChannels.listDeadLetters()).toEqual([]);
  });

  it('dead-letters at once the alert too large for any request to the topic (record_too_large) and still publishes and delivers the rest', async () => {
    const { prefix, store, keys, group } = setup();
    const [topic] = await freshTopics(['alerts-small'], { numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '4000' }] });
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    cleanups.push(receiver.close);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);
    const small = makeAlert('tenant-small');
    const big = makeAlert('tenant-big');
    big.hardware.models = Array.from({ length: 200 }, (_, i) => `model-${i}-${'x'.repeat(40)}`);
    expect(JSON.stringify(big).length).toBeGreaterThan(8_000);
    expect(JSON.stringify(small).length).toBeLessThan(2_000);
    await store.alerts.raise(small);
    await store.alerts.raise(big);

    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);
    const kafka = await collectTopic(topic);
    cleanups.push(kafka.close);
    const [letter] = await waitFor(async () => {
      const list = await store.notifyChannels.listDeadLetters();
      return list.length > 0 ? list : null;
    }, { what: 'the Kafka dead letter', timeoutMs: 20_000 });
    expect(letter).toMatchObject({ channel: 'kafka', reason: 'record_too_large', alertId: big.id });
    expect(letter!.error).toMatch(/exceeds the 4000-byte max\.message\.bytes/);
    await waitFor(() => kafka.records.length === 1 && receiver.received.length === 2, { what: 'the small alert in Kafka and both at the webhook', timeoutMs: 20_000 });
    expect(kafka.records[0]!.value.id).toBe(small.id);
    await waitFor(async () => ((await redis.xpending(keys.alerts.outbox, group)) as [number])[0] === 0 && (await redis.xlen(keys.alerts.outbox)) === 0, { what: 'both entries acknowledged' });
    expect(await counterValue(n.metrics, 'flopwatch_notifier_dead_letters_total', { channel: 'kafka', reason: 'record_too_large' })).toBe(1);
    expect(await store.notifyChannels.listDeadLetters()).toHaveLength(1);
  });

  it('redelivers the record_too_large dead letters, each exactly once and to Kafka alone, once the topic takes them', async () => {
    const { prefix, store, group } = setup();
    const keys = createKeys(prefix);
    const [topic] = await freshTopics(['alerts-fixed'], { numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '4000' }] });
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    cleanups.push(receiver.close);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);
    const small = makeAlert('tenant-fits');
    const big = [1, 2, 3].map((i) => {
      const a = makeAlert(`tenant-too-big-${i}`);
      a.hardware.models = Array.from({ length: 200 }, (_, m) => `model-${m}-${'x'.repeat(40)}`);
      return a;
    });
    for (const a of [small, ...big]) await store.alerts.raise(a);
    const n = await startNotifier({ prefix, topic, group });
    cleanups.push(n.close);
    const kafka = await collectTopic(topic);
    cleanups.push(kafka.close);
    await waitFor(async () => (await store.notifyChannels.listDeadLetters()).length === big.length && (await redis.xlen(keys.alerts.outbox)) === 0, { what: 'the three dead letters, every entry acknowledged', timeoutMs: 20_000 });
    await waitFor(() => receiver.received.length === 4, { what: 'every alert at the webhook' });

    // The operator raises the topic's limit, then hands the dead letters back.
    const admin = testKafka().admin();
    await admin.connect();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: '100000' }] }] });
    await admin.disconnect();
    const root = new URL('../../../', import.meta.url).pathname;
    const redeliver = () => new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, ['--conditions=flopwatch-source', '--import', 'tsx', 'scripts/notify-redeliver.ts', '--channel', 'kafka'], {
        cwd: root, env: { ...process.env, REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, LOG_LEVEL: 'silent' },
      }, (error, out, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, out: out + err }));
    });
    const first = await redeliver();
    expect(first.code, first.out).toBe(0);
    expect(first.out).toContain(`redelivered ${big.length} Kafka, 0 Alertmanager and 0 webhook dead letters`);
    await waitFor(() => kafka.records.length === 1 + big.length, { what: 'the redelivered alerts on the topic', timeoutMs: 20_000 });
    await waitFor(async () => (await redis.xlen(keys.alerts.outbox)) === 0, { what: 'the redelivered entries acknowledged' });
    const second = await redeliver();
    expect(second.out).toContain('redelivered 0 Kafka');
    expect(await redis.xlen(keys.alerts.outbox)).toBe(0);

    expect(kafka.records.map((r) => r.value.id).sort()).toEqual([small, ...big].map((a) => a.id).sort());
    expect(kafka.records.every((r) => r.type === 'alert.raised')).toBe(true);
    expect(await store.notifyChannels.listDeadLetters()).toEqual([]);
    expect(await counterValue(n.metrics, 'flopwatch_notifier_alerts_published_total')).toBe(1 + big.length);
    // Only Kafka had failed: the webhook is not sent the redelivered alerts again.
    expect(receiver.received).toHaveLength(4);
  });
});
