import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createKeys, createStore } from '@flopwatch/store';
import { dropPrefix, freshPrefix, kafkaBrokers, redisUrl, serviceMain, uniqueId, waitFor } from '@flopwatch/test-harness';
import { alertMessageId } from '@flopwatch/webhooks';
import { addEndpoint, collectTopic, makeAlert, startNotifier, startReceiver } from './helpers.js';

const redis = new Redis(redisUrl());
const prefix = freshPrefix('crash');
afterAll(async () => {
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('notifier crash', () => {
  it('loses nothing when killed with SIGKILL mid-delivery: after a restart every alert reaches Kafka and every endpoint, duplicates with the same webhook-id', async () => {
    const store = createStore({ redis, prefix });
    const keys = createKeys(prefix);
    const topic = uniqueId('alerts');
    const group = uniqueId('grp');
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets, () => ({ status: 200 }));
    const endpoints = await Promise.all([1, 2, 3].map((i) => addEndpoint(store, `${receiver.url}?ep=${i}`)));
    secrets.push(...endpoints.map((e) => e.secret));
    const alerts = Array.from({ length: 20 }, (_, i) => makeAlert(`tenant-${i}`));
    for (const a of alerts) await store.alerts.raise(a);

    const child = spawn(process.execPath, [serviceMain('notifier')], {
      cwd: root,
      env: {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers().join(','), REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, ALERTS_TOPIC: topic, ALERTS_TOPIC_PARTITIONS: '1',
        OUTBOX_GROUP: group, POLL_INTERVAL: '20ms', OUTBOX_CLAIM_IDLE: '500ms', WEBHOOK_RETRY_SCHEDULE: '50ms,100ms,200ms', WEBHOOK_TIMEOUT: '1s',
        WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_LIST: '127.0.0.1/32', WEBHOOK_CONCURRENCY: '2', OPS_PORT: '0', LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(() => receiver.received.length >= 3, { what: 'first deliveries from the child notifier', timeoutMs: 30_000, intervalMs: 5 });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    const beforeRestart = receiver.received.length;
    expect(beforeRestart).toBeLessThan(60);

    const n = await startNotifier({ prefix, topic, group, claimIdleMs: 500 });
    const kafka = await collectTopic(topic);
    try {
      await waitFor(() => endpoints.every((_, i) => alerts.every((a) => receiver.received.some((r) => r.path.endsWith(`ep=${i + 1}`) && r.webhookId === alertMessageId(a.id, 'alert.raised')))), {
        what: 'every alert at every endpoint', timeoutMs: 30_000,
      });
      await waitFor(async () => (await Promise.all(endpoints.map((e) => store.webhooks.listDeliveries(e.id, 100)))).every((l) => l.length === 20 && l.every((d) => d.status === 'delivered')), { what: 'all deliveries settled', timeoutMs: 30_000 });
      await waitFor(() => new Set(kafka.records.map((r) => r.value.id)).size === 20, { what: 'every alert in Kafka', timeoutMs: 30_000 });
    } finally {
      await kafka.close();
      await n.close();
      await receiver.close();
    }
    const expectedIds = new Set(alerts.map((a) => alertMessageId(a.id, 'alert.raised')));
    expect(receiver.received.every((r) => r.verified && expectedIds.has(r.webhookId))).toBe(true);
    expect(receiver.received.length).toBeGreaterThanOrEqual(60);
    expect(await redis.xpending(keys.alerts.outbox, group)).toEqual([0, null, null, null]);
  });
});
