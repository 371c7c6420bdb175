// Every send bounded by the topic's real max.message.bytes, measured against a real broker: topics
// with small limits, record batches right at the estimate's edge, a record too large for any request.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { freshTopics, testKafka, uniqueId } from '@flopwatch/test-harness';
import {
  createProducer,
  DEAD_LETTER_HEADROOM_BYTES,
  ensureDeadLetterTopic,
  ensureTopics,
  fitRecord,
  KafkaPortError,
  readTopicRange,
  recordsTooLarge,
  topicMessageLimit,
  type ConsumedMessage,
  type KafkaClient,
  type OutgoingMessage,
} from '../src/index.js';
import { testClients, testLogger } from './helpers.js';

const limitConfig = (bytes: number) => ({ configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] });

/** Every message of `topic`, by partition, in offset order. */
async function readAll(kafka: KafkaClient, topic: string): Promise<Map<number, ConsumedMessage[]>> {
  const byPartition = new Map<number, ConsumedMessage[]>();
  const result = await readTopicRange(kafka, {
    topic,
    onMessages: async (partition, messages) => void byPartition.set(partition, [...(byPartition.get(partition) ?? []), ...messages]),
  });
  expect(result.incomplete).toEqual([]);
  return byPartition;
}

/** A raw kafkajs producer (not the port): what the broker itself takes or refuses. */
async function rawSend(topic: string, messages: { key: string; value: Buffer }[]): Promise<'ok' | string> {
  const producer = testKafka().producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
    return 'ok';
  } catch (err) {
    // kafkajs may wrap the broker's error: its type is somewhere on the cause chain.
    for (let e: unknown = err, i = 0; typeof e === 'object' && e !== null && i < 10; i++) {
      const shape = e as { type?: string; cause?: unknown; originalError?: unknown };
      if (typeof shape.type === 'string') return shape.type;
      e = shape.originalError ?? shape.cause;
    }
    return String(err);
  } finally {
    await producer.disconnect();
  }
}

describe('bounded send', () => {
  const client = testClients();
  const admin: Admin = testKafka().admin();
  afterAll(() => admin.disconnect());

  async function describedLimit(topic: string): Promise<number> {
    await admin.connect();
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }] });
    return Number(resources[0]!.configEntries[0]!.configValue);
  }

  it('splits a burst far above the topic limit into several requests; every message arrives once, in order per key', async () => {
    const limit = 16_384;
    const [topic] = await freshTopics(['bounded-burst'], { numPartitions: 3, ...limitConfig(limit) });
    const { log, records } = testLogger();
    const kafka = client(log);
    const producer = createProducer(kafka, { log });
    const keys = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d', 'tenant-e'];
    const messages: OutgoingMessage[] = Array.from({ length: 600 }, (_, i) => ({
      key: keys[i % keys.length]!,
      value: JSON.stringify({ i, pad: 'x'.repeat(200 + (i % 7) * 50) }),
      headers: { 'content-type': 'application/json' },
    }));
    const results = await producer.send(topic, messages);
    expect(records.filter((r) => r.msg === 'broker refused a request as too large; re-planning')).toEqual([]);

    const got = await readAll(kafka, topic);
    const all = [...got.values()].flat();
    expect(all).toHaveLength(messages.length);
    // Each request answers one base offset per partition it wrote, so a partition's answers count its
    // batches; its values alone need at least this many batches of the limit.
    for (const [partition, list] of got) {
      const valueBytes = list.reduce((s, m) => s + m.value!.length, 0);
      expect(valueBytes).toBeGreaterThan(2 * limit);
      expect(results.filter((r) => r.partition === partition).length).toBeGreaterThanOrEqual(Math.ceil(valueBytes / limit));
    }
    for (const key of keys) {
      const seen = all.filter((m) => m.key?.toString() === key).map((m) => JSON.parse(m.value!.toString()).i as number);
      const sent = messages.map((m, i) => (m.key === key ? i : -1)).filter((i) => i >= 0);
      // One key lives on one partition, in offset order: exactly the sent order.
      expect(seen).toEqual(sent);
    }
  });

  it('bounds batches with explicit timestamps days apart on several partitions, and the broker never refuses one', async () => {
    const limit = 16_384;
    const [topic] = await freshTopics(['bounded-timestamps'], { numPartitions: 3, ...limitConfig(limit) });
    const { log, records } = testLogger();
    const kafka = client(log);
    const producer = createProducer(kafka, { log });
    const now = Date.now();
    // Timestamps from 30 days ago to now, out of order, some messages without one (stamped "now").
    const messages: OutgoingMessage[] = Array.from({ length: 400 }, (_, i) => ({
      key: `k${i % 11}`,
      value: randomBytes(150 + ((i * 31) % 400)),
      headers: { n: String(i) },
      ...(i % 5 === 0 ? {} : { timestamp: now - ((i * 7_777_777) % (30 * 86_400_000)) }),
    }));
    await producer.send(topic, messages);
    expect(records.filter((r) => r.msg === 'broker refused a request as too large; re-planning')).toEqual([]);
    const all = [...(await readAll(kafka, topic)).values()].flat();
    expect(all.map((m) => Number(m.headers.n!.toString())).sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
    expect(all.filter((m) => messages[Number(m.headers.n!.toString())]!.timestamp !== undefined).every((m) => m.timestamp === messages[Number(m.headers.n!.toString())]!.timestamp)).toBe(true);
  });

  it('fills each request up to the estimate exactly: the broker takes every request and refuses each one with one more record', async () => {
    const limit = 20_000;
    const [topic, probe] = await freshTopics(['bounded-edge', 'bounded-edge-probe'], { numPartitions: 1, ...limitConfig(limit) });
    const kafka = client();
    const producer = createProducer(kafka);
    // Random sizes and keys, no timestamps: on one partition the estimate is the batch's exact size.
    const messages = Array.from({ length: 120 }, (_, i) => ({ key: `k-${i % 9}`, value: randomBytes(100 + ((i * 7919) % 2900)) }));
    const results = await producer.send(topic, messages);
    const starts = results.map((r) => Number(r.baseOffset));
    expect(starts[0]).toBe(0);
    expect(starts.length).toBeGreaterThan(5);
    const got = (await readAll(kafka, topic)).get(0)!;
    expect(got.map((m) => m.value!.equals(messages[Number(m.offset)]!.value))).toEqual(messages.map(() => true));
    // Each request [start, next start) was taken; the same records plus the next one are refused as one batch.
    for (let r = 0; r + 1 < starts.length; r++) {
      const withNext = messages.slice(starts[r], starts[r + 1]! + 1);
      expect(await rawSend(probe, withNext)).toBe('MESSAGE_TOO_LARGE');
    }
  });

  it('sends a record whose batch is exactly the limit and names one a byte larger, after sending the others', async () => {
    const limit = 16_384;
    const [topic] = await freshTopics(['bounded-single'], { numPartitions: 1, ...limitConfig(limit) });
    const kafka = client();
    const { log, records } = testLogger();
    const producer = createProducer(kafka, { log });
    // One record, key "k", no headers: batch header 61 + length varint 3 + attributes 1 + timestamp
    // delta 1 + offset delta 1 + key (1 + 1) + value (3 + n) + header count 1 = n + 73 bytes.
    const exact = Buffer.alloc(limit - 73, 'e');
    const over = Buffer.alloc(limit - 72, 'o');
    expect(await rawSend(topic, [{ key: 'k', value: over }])).toBe('MESSAGE_TOO_LARGE');

    expect(await producer.tooLarge(topic, [{ key: 'k', value: exact }, { key: 'k', value: over }])).toEqual({ limit, records: [{ index: 1, bytes: limit + 1 }] });
    const err = await producer
      .send(topic, [
        { key: 'k', value: 'first' },
        { key: 'k', value: over },
        { key: 'k', value: exact },
        { key: 'k', value: 'last' },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaPortError);
    expect(err).toMatchObject({ code: 'KAFKA_RECORD_TOO_LARGE', retryable: false });
    expect(recordsTooLarge(err)).toEqual({ topic, limit, records: [{ index: 1, bytes: limit + 1 }], sent: 3 });
    expect(recordsTooLarge(new Error('other'))).toBeUndefined();
    const got = (await readAll(kafka, topic)).get(0)!;
    expect(got.map((m) => m.value!.length)).toEqual([5, exact.length, 4]);
    expect(records.some((r) => r.level === 'warn' && r.index === 1 && r.msg === 'record larger than the topic accepts; not sent')).toBe(true);

    // fitRecord cuts a value to exactly what fits: the n + 73 bytes above make n = limit - 73.
    const fitted = fitRecord({ key: 'k', value: Buffer.alloc(3 * limit, 'f') }, limit)!;
    expect(fitted.value.length).toBe(limit - 73);
    expect(await rawSend(topic, [{ key: 'k', value: fitted.value as Buffer }])).toBe('ok');
    expect(fitRecord({ key: 'k', value: 'v', headers: { big: Buffer.alloc(limit) } }, limit)).toBeUndefined();
  });

  it('reads the limit again when the broker refuses a request (the topic limit was lowered) and when a record looks too large (it was raised)', async () => {
    // One partition: a refused request is refused whole (on several, one partition's batch may be written).
    const [topic] = await freshTopics(['bounded-changed'], { numPartitions: 1, ...limitConfig(65_536) });
    const kafka = client();
    const { log, records } = testLogger();
    const producer = createProducer(kafka, { log });
    await producer.send(topic, [{ key: 'a', value: 'caches the 64 KiB limit' }]);
    await admin.connect();
    const setLimit = async (bytes: number) => {
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
      // The broker applies a config change a moment after acknowledging it: wait until it refuses a
      // 20 KB record (lowered) or takes it (raised), as itself, by a probe key the test leaves out.
      for (let i = 0; ; i++) {
        const answer = await rawSend(topic, [{ key: 'probe', value: Buffer.alloc(20_000) }]);
        if ((bytes < 20_000) === (answer === 'MESSAGE_TOO_LARGE')) break;
        if (i > 100) throw new Error(`broker did not apply max.message.bytes=${bytes}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await setLimit(16_384);
    const burst = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 4}`, value: `${i}:`.padEnd(1_000, '.') }));
    await producer.send(topic, burst);
    expect(records.some((r) => r.msg === 'broker refused a request as too large; re-planning')).toBe(true);

    await setLimit(65_536);
    // Cached: 16 KiB; the 30 KB record is sent once the limit is read again, not named too large.
    await producer.send(topic, [{ key: 'k0', value: 'b'.repeat(30_000) }]);
    const all = [...(await readAll(kafka, topic)).values()].flat().filter((m) => m.key?.toString() !== 'probe');
    expect(all).toHaveLength(1 + burst.length + 1);
    expect(all.filter((m) => m.value!.length === 30_000)).toHaveLength(1);
  });

  it('reads a limit from the topic override, else the broker default the topic resolves to', async () => {
    const [small, plain] = await freshTopics(['limit-small', 'limit-plain'], { numPartitions: 1 });
    await admin.connect();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: small, configEntries: [{ name: 'max.message.bytes', value: '32768' }] }] });
    const kafka = client();
    expect(await topicMessageLimit(kafka, small)).toEqual({ bytes: 32_768, source: 'topic' });
    const { brokers } = await admin.describeCluster();
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.BROKER, name: String(brokers[0]!.nodeId), configNames: ['message.max.bytes'] }] });
    const brokerDefault = Number(resources[0]!.configEntries[0]!.configValue);
    expect((await topicMessageLimit(kafka, plain)).bytes).toBe(brokerDefault);
    await expect(topicMessageLimit(kafka, uniqueId('no-such-topic'))).rejects.toMatchObject({ code: 'KAFKA_TOPIC_NOT_FOUND', retryable: false });
  });

  it('creates a dead-letter topic that takes what its sources take, and warns about an existing smaller one', async () => {
    const [telemetry, slurm] = await freshTopics(['dlq-src-a', 'dlq-src-b'], { numPartitions: 1 });
    const { log, records } = testLogger();
    const kafka = client(log);
    // The telemetry topic keeps the broker's default; the Slurm one takes twice that.
    const telemetryLimit = await describedLimit(telemetry);
    await admin.connect();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: slurm, configEntries: [{ name: 'max.message.bytes', value: String(2 * telemetryLimit) }] }] });
    expect(await describedLimit(slurm)).toBe(2 * telemetryLimit);
    const dlq = uniqueId('dlq');
    const made = await ensureDeadLetterTopic(kafka, { topic: dlq, partitions: 1, sources: [telemetry, slurm] });
    const required = 2 * telemetryLimit + DEAD_LETTER_HEADROOM_BYTES;
    expect(made).toEqual({ topic: dlq, created: true, maxMessageBytes: required, required });
    expect(await describedLimit(dlq)).toBe(required);

    const old = uniqueId('dlq-old');
    await ensureTopics(kafka, [{ topic: old, partitions: 1, configs: { 'max.message.bytes': '16384' } }]);
    expect(await ensureDeadLetterTopic(kafka, { topic: old, partitions: 1, sources: [telemetry] })).toEqual({ topic: old, created: false, maxMessageBytes: 16_384, required: telemetryLimit + DEAD_LETTER_HEADROOM_BYTES });
    expect(records.some((r) => r.level === 'warn' && r.topic === old && r.maxMessageBytes === 16_384)).toBe(true);
  });
});
