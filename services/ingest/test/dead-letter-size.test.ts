// Dead letters bounded by the DLQ topic's max.message.bytes, through the real ingest and a real broker:
// a burst goes whole in several requests; one too large for any request goes as a truncated copy
// with its source coordinates, and the partition moves on.
import { describe, expect, it } from 'vitest';
import { ConfigResourceTypes } from 'kafkajs';
import { Registry } from 'prom-client';
import { freshTopics, kafkaBrokers, testKafka, uniqueId, waitFor } from '@flopwatch/test-harness';
import { createKafkaClient, readTopicRange, type ConsumedMessage } from '@flopwatch/kafka';
import type { UsageEvent } from '@flopwatch/contracts';
import { DLQ_HEADERS } from '../src/app.js';
import { caughtUp, defaultPack, encode, groundTruth, silent, startIngest, storedTotals, stream, testProducer, type Topics, ingestTestEnv } from './helpers.js';

const pack = defaultPack();
const { running, cleanups, env } = ingestTestEnv();

/** Telemetry and Slurm topics as usual; a one-partition DLQ with a small `max.message.bytes`. */
async function topicsWithSmallDlq(dlqBytes: number): Promise<Topics> {
  const [telemetry, slurm] = await freshTopics(['telemetry', 'slurm']);
  const [dlq] = await freshTopics(['dlq-small'], { numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(dlqBytes) }] });
  return { telemetry, slurm, dlq };
}

async function readDlq(topic: string, expected: number): Promise<ConsumedMessage[]> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('dlq-reader'), logger: silent });
  try {
    let got: ConsumedMessage[] = [];
    await waitFor(async () => {
      got = [];
      await readTopicRange(kafka, { topic, onMessages: async (_p, messages) => void got.push(...messages) });
      return got.length >= expected;
    }, { what: `${expected} dead letters` });
    return got;
  } finally {
    await kafka.close();
  }
}

async function deadLettered(registry: Registry, reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('flopwatch_ingest_dead_lettered_total')!.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

async function expectTotals(store: ReturnType<typeof env>['store'], events: UsageEvent[]) {
  const truth = groundTruth(events, pack);
  await waitFor(async () => {
    const got = await storedTotals(store, truth.keys());
    return [...truth].every(([t, v]) => got.get(t) === v);
  }, { what: 'totals to reach the ground truth' });
  expect(await storedTotals(store, truth.keys())).toEqual(truth);
}

const header = (m: ConsumedMessage, name: string) => m.headers[name]?.toString();

describe('dead letters bounded by the DLQ topic limit', () => {
  it('creates a missing DLQ topic with a max.message.bytes above both of its sources\'', async () => {
    const [telemetry] = await freshTopics(['telemetry-big'], { configEntries: [{ name: 'max.message.bytes', value: '3000000' }] });
    const [slurm] = await freshTopics(['slurm']);
    const topics: Topics = { telemetry, slurm, dlq: uniqueId('dlq-new') };
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const limit = async (topic: string) => {
        const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }] });
        return Number(resources[0]!.configEntries[0]!.configValue);
      };
      const sources = Math.max(await limit(telemetry), await limit(slurm));
      running.push(await startIngest({ topics, groupId: uniqueId('group'), store: env().store }));
      // Read back from the broker: the sources' largest limit plus 64 KiB for the dead-letter headers.
      expect(await limit(topics.dlq)).toBe(sources + 65_536);
      expect(await limit(topics.dlq)).toBeGreaterThan(await limit(telemetry));
    } finally {
      await admin.disconnect();
    }
  });

  it('sends a burst of dead letters far above the DLQ limit whole, in order, in several requests', async () => {
    const dlqLimit = 32_768;
    const topics = await topicsWithSmallDlq(dlqLimit);
    const { store } = env();
    const registry = new Registry();
    const valid = stream(1, 1, 5);
    const bad = Array.from({ length: 300 }, (_, i) => `not json #${i} ${'x'.repeat(1_000)}`);
    const { producer, close } = await testProducer();
    cleanups.push(close);
    // One key: one telemetry partition, so one fetch holds the whole burst (about 320 KB of dead letters).
    await producer.send(topics.telemetry, [...encode(valid), ...bad.map((value) => ({ key: 'tenant-0', value }))]);
    const groupId = uniqueId('group');
    running.push(await startIngest({ topics, groupId, store, registry }));
    await expectTotals(store, valid);

    const dead = await readDlq(topics.dlq, bad.length);
    expect(dead).toHaveLength(bad.length);
    expect(dead.map((m) => m.value!.toString())).toEqual(bad);
    expect(dead.every((m) => header(m, DLQ_HEADERS.reason) === 'not_json' && header(m, DLQ_HEADERS.topic) === topics.telemetry)).toBe(true);
    // Source offsets follow the burst: after the valid events, one after another.
    expect(dead.map((m) => Number(header(m, DLQ_HEADERS.offset)))).toEqual(bad.map((_, i) => valid.length + i));
    const bytes = dead.reduce((s, m) => s + m.value!.length, 0);
    expect(bytes).toBeGreaterThan(9 * dlqLimit); // no single request could have carried them
    expect(await deadLettered(registry, 'not_json')).toBe(bad.length);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to commit the burst' });
  });

  it('dead-letters a message too large for the DLQ as a truncated copy with its coordinates, and moves on', async () => {
    const dlqLimit = 16_384;
    const topics = await topicsWithSmallDlq(dlqLimit);
    const { store } = env();
    const registry = new Registry();
    const [first, second] = stream(1, 1, 2);
    const huge = Buffer.from(`{"specversion":"1.0",${'"pad":"'.concat('y'.repeat(40_000))}`); // not JSON: unterminated
    const { producer, close } = await testProducer();
    cleanups.push(close);
    const sent = await producer.send(topics.telemetry, [encode([first!])[0]!, { key: 'tenant-0', value: huge }, encode([second!])[0]!]);
    expect(sent).toHaveLength(1);
    const { partition, baseOffset } = sent[0]!;
    const groupId = uniqueId('group');
    running.push(await startIngest({ topics, groupId, store, registry }));
    await expectTotals(store, [first!, second!]);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the partition to move past the huge message' });

    const [copy, ...more] = await readDlq(topics.dlq, 1);
    expect(more).toEqual([]);
    expect({
      reason: header(copy!, DLQ_HEADERS.reason),
      originalReason: header(copy!, DLQ_HEADERS.originalReason),
      topic: header(copy!, DLQ_HEADERS.topic),
      partition: header(copy!, DLQ_HEADERS.partition),
      offset: header(copy!, DLQ_HEADERS.offset),
      originalBytes: header(copy!, DLQ_HEADERS.originalBytes),
      key: copy!.key?.toString(),
    }).toEqual({
      reason: 'message_too_large',
      originalReason: 'not_json',
      topic: topics.telemetry,
      partition: String(partition),
      offset: String(Number(baseOffset) + 1),
      originalBytes: String(huge.length),
      key: 'tenant-0',
    });
    // A prefix of the original, as much as the limit leaves beside a few hundred bytes of headers.
    expect(copy!.value!.equals(huge.subarray(0, copy!.value!.length))).toBe(true);
    expect(copy!.value!.length).toBeGreaterThan(dlqLimit - 1_000);
    expect(copy!.value!.length).toBeLessThan(dlqLimit);
    expect(await deadLettered(registry, 'message_too_large')).toBe(1);
    expect(await deadLettered(registry, 'not_json')).toBe(0);
  });
});
