// The alerts topic refused to the notifier by Kafka itself, on a broker of its own that enforces ACLs
// (StandardAuthorizer) and SASL: a revoked ACL, and a rotated password. Alerts are held pending, never
// dead-lettered, while the other channels carry on, and each reaches the topic once the permission or
// the password is back. One broker for the file (it costs a JVM).
import type { Redis } from 'ioredis';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin, type AclEntry } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createProducer, ensureTopics, type KafkaClient } from '@flopwatch/kafka';
import { createMetricsRegistry, kafkaSecurity } from '@flopwatch/runtime';
import { createKeys, createStore, type Store } from '@flopwatch/store';
import { dropPrefix, freshPrefix, makeTestCertificates, startSecureKafka, testRedis, uniqueId, waitFor, type SecureKafka, type TestCertificates } from '@flopwatch/test-harness';
import { createNotifier } from '../src/app.js';
import { createFanOut } from '../src/fan-out.js';
import { createNotifierMetrics } from '../src/metrics.js';
import { addEndpoint, counterValue, makeAlert, silent, startReceiver, TEST_POLICY } from './helpers.js';

const USERS = [
  { username: 'admin', password: 'admin-S3cret' },
  { username: 'notifier', password: 'notifier-Pa55word' },
];
const [, NOTIFIER] = USERS as [unknown, { username: string; password: string }];

let certs: TestCertificates;
let kafka: SecureKafka;
let admin: Admin;
let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  certs = makeTestCertificates();
  kafka = await startSecureKafka(certs, USERS, () => {}, { acls: true });
  admin = new Kafka({ brokers: [kafka.plaintext], clientId: uniqueId('acl-admin'), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  redis = testRedis();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  if (redis) {
    await dropPrefix(redis, ...prefixes);
    redis.disconnect();
  }
  await kafka?.stop();
  certs?.remove();
});

function setup(label: string): { prefix: string; store: Store; keys: ReturnType<typeof createKeys>; topic: string; group: string } {
  const prefix = freshPrefix(label);
  prefixes.push(prefix);
  return { prefix, store: createStore({ redis, prefix }), keys: createKeys(prefix), topic: uniqueId('alerts'), group: uniqueId('grp') };
}

/** A client of the SASL listener as the notifier's user (SCRAM-SHA-512), with `password`. */
const notifierClient = (password = NOTIFIER.password): KafkaClient =>
  createKafkaClient({
    brokers: [kafka.sasl], clientId: uniqueId('notifier'), logger: silent, connectionTimeoutMs: 2_000,
    security: kafkaSecurity({ KAFKA_TLS: false, KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: NOTIFIER.username, KAFKA_SASL_PASSWORD: password } as Parameters<typeof kafkaSecurity>[0]),
  });

/** Every record of `topic`, read from the start through the PLAINTEXT listener (a super user). */
async function readTopic(topic: string): Promise<{ id: string; type: string }[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
  if (total === 0) return [];
  const records: { id: string; type: string }[] = [];
  const consumer = new Kafka({ brokers: [kafka.plaintext], clientId: uniqueId('reader'), logLevel: logLevel.NOTHING }).consumer({ groupId: uniqueId('reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void records.push({ id: String(message.headers?.['alert-id']), type: String(message.headers?.['event-type']) }) });
    await waitFor(() => records.length >= total, { what: `the ${total} records of ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** An ACL denying the notifier's user every operation on the topics starting with `prefix`. */
const denyAcl = (prefix: string): AclEntry => ({
  resourceType: AclResourceTypes.TOPIC, resourceName: prefix, resourcePatternType: ResourcePatternTypes.PREFIXED,
  principal: `User:${NOTIFIER.username}`, host: '*', operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.DENY,
});

describe('alerts topic refused by an ACL', () => {
  it('holds every alert while the ACL is revoked (nothing dead-lettered, webhooks go on) and publishes each once when it is back', async () => {
    const { store, keys, topic, group } = setup('acl');
    const secrets: string[] = [];
    const receiver = await startReceiver(() => secrets);
    const ep = await addEndpoint(store, receiver.url);
    secrets.push(ep.secret);
    const client = notifierClient();
    const metrics = createMetricsRegistry({ service: 'notifier', collectDefault: false });
    const notifier = createNotifier({
      kafka: client, store, metricsRegistry: metrics, log: silent,
      topic: { name: topic, partitions: 2 },
      outbox: { group, consumer: uniqueId('c'), claimIdleMs: 300, batchSize: 5 },
      pollIntervalMs: 20,
      webhooks: { policy: TEST_POLICY, retry: { scheduleMs: [50, 100], jitter: 0.1 }, timeoutMs: 2_000, maxResponseBytes: 1_024, concurrency: 4, disableAfterMs: 86_400_000 },
      alertmanager: null,
    });
    try {
      // The notifier creates its topic while it may; then the ACL is revoked, as an operator would by mistake.
      await notifier.start();
      await admin.createAcls({ acl: [denyAcl(topic)] });
      // A topic under the same ACL, written by the notifier's user until the broker refuses it: the ACL is in force.
      const probeTopic = `${topic}-probe`;
      await admin.createTopics({ topics: [{ topic: probeTopic, numPartitions: 1 }] });
      const probe = createProducer(client, { idempotent: false });
      await waitFor(async () => (await probe.send(probeTopic, [{ value: 'probe' }]).then(() => null, (err: unknown) => (err as { code?: string }).code)) === 'KAFKA_AUTHORIZATION', { what: 'the ACL in force' });
      await probe.close();

      const alerts = Array.from({ length: 12 }, (_, i) => makeAlert(`tenant-acl-${i}`));
      for (const a of alerts) await store.alerts.raise(a);

      const held = await waitFor(async () => {
        const h = await store.notifyChannels.held('kafka');
        return h.entries === alerts.length ? h : null;
      }, { what: 'every alert held on the Kafka channel' });
      expect(held.reason).toBe('auth');
      // Each held entry is retried (taken over after the claim idle time) and held again, never dead-lettered.
      await waitFor(async () => (await counterValue(metrics, 'flopwatch_notifier_channel_held_total', { channel: 'kafka', reason: 'auth' })) >= 3 * alerts.length, { what: 'three rounds of attempts on every held alert' });
      expect(await store.notifyChannels.listDeadLetters()).toEqual([]);
      expect(await counterValue(metrics, 'flopwatch_notifier_dead_letters_total')).toBe(0);
      expect(await counterValue(metrics, 'flopwatch_notifier_channel_pending', { channel: 'kafka', reason: 'auth' })).toBe(alerts.length);
      expect(await counterValue(metrics, 'flopwatch_notifier_channel_pending_oldest_seconds', { channel: 'kafka' })).toBeGreaterThan(0);
      expect(await counterValue(metrics, 'flopwatch_notifier_alerts_published_total')).toBe(0);
      expect(await readTopic(topic)).toEqual([]);
      // The webhook channel did not wait for Kafka; the entries stay in the outbox for Kafka alone.
      await waitFor(() => receiver.received.length === alerts.length, { what: 'every alert at the webhook during the hold' });
      expect(await redis.xlen(keys.alerts.outbox)).toBe(alerts.length);
      expect(notifier.readiness().ready).toBe(true);

      await admin.deleteAcls({ filters: [denyAcl(topic)] });
      await waitFor(async () => (await redis.xlen(keys.alerts.outbox)) === 0, { what: 'every entry published and acknowledged once the ACL is back', timeoutMs: 30_000 });
      const records = await readTopic(topic);
      expect(records.map((r) => r.id).sort()).toEqual(alerts.map((a) => a.id).sort());
      expect(records.every((r) => r.type === 'alert.raised')).toBe(true);
      expect(await store.notifyChannels.held('kafka')).toMatchObject({ entries: 0, oldestAt: null });
      expect(await counterValue(metrics, 'flopwatch_notifier_channel_pending', { channel: 'kafka' })).toBe(0);
      expect(await counterValue(metrics, 'flopwatch_notifier_alerts_published_total')).toBe(alerts.length);
      expect(await store.notifyChannels.listDeadLetters()).toEqual([]);
      expect(receiver.received).toHaveLength(alerts.length);
    } finally {
      await notifier.close();
      await client.close();
      await receiver.close();
    }
  });
});

describe('notifier credentials refused', () => {
  it('holds the alerts while SASL rejects the password and publishes them once with the right one', async () => {
    const { store, keys, topic, group } = setup('sasl');
    const creator = notifierClient();
    await ensureTopics(creator, [{ topic, partitions: 1 }]).finally(() => creator.close());
    const alerts = Array.from({ length: 3 }, (_, i) => makeAlert(`tenant-sasl-${i}`));
    for (const a of alerts) await store.alerts.raise(a);
    const outbox = store.outbox({ group, consumer: uniqueId('c'), claimIdleMs: 60_000, batchSize: 10 });
    await outbox.ensureGroup();
    const entries = await outbox.read();
    expect(entries).toHaveLength(alerts.length);

    /** One pass of the fan-out over the entries with a producer logged in with `password`. */
    async function pass(password: string, registry = createMetricsRegistry({ service: 'notifier', collectDefault: false })) {
      const client = notifierClient(password);
      const producer = createProducer(client, { idempotent: true });
      const metrics = createNotifierMetrics(registry, { outboxLag: async () => 0, pendingDeliveries: async () => 0, held: async () => [await store.notifyChannels.held('kafka')] });
      const fanOut = createFanOut({ store, producer, topic, group, alertmanager: false, acknowledge: (ids) => outbox.ack(ids), metrics, log: silent });
      try {
        await fanOut.handle(entries);
      } finally {
        await client.close();
      }
      return registry;
    }

    // The password was rotated on the broker and not in the notifier: refused, held, not dead-lettered.
    const refused = await pass('the-old-password');
    expect(await store.notifyChannels.held('kafka')).toMatchObject({ reason: 'auth', entries: alerts.length });
    expect(await counterValue(refused, 'flopwatch_notifier_channel_held_total', { channel: 'kafka', reason: 'auth' })).toBe(alerts.length);
    expect(await store.notifyChannels.listDeadLetters()).toEqual([]);
    expect(await readTopic(topic)).toEqual([]);
    // The webhook channel finished (no endpoints); the entries wait for Kafka.
    expect(await redis.xlen(keys.alerts.outbox)).toBe(alerts.length);

    await pass(NOTIFIER.password);
    expect((await readTopic(topic)).map((r) => r.id).sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(await store.notifyChannels.held('kafka')).toMatchObject({ entries: 0 });
    expect(await redis.xlen(keys.alerts.outbox)).toBe(0);
  });
});
