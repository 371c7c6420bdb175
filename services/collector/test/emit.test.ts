// The collector's emitter against a telemetry topic with a small max.message.bytes: a Slurm-sized
// backlog goes through in several requests and is counted by the real ingest; an event too large for
// any request is counted and logged, and never holds back the others.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createProducer, readTopicRange, type ConsumedMessage } from '@flopwatch/kafka';
import { dropPrefix, freshTopics, kafkaBrokers, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import type { UsageEvent } from '@flopwatch/contracts';
import { T0, caughtUp, defaultPack, groundTruth, startIngest, storedTotals, testStore, type Topics } from '../../ingest/test/helpers.js';
import { createCollectorMetrics, createEmitter } from '../src/app.js';

const silent = pino({ level: 'silent' });
const pack = defaultPack();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(limit: number) {
  const [telemetry, slurm, dlq] = await freshTopics(['telemetry-small', 'slurm', 'dlq'], { configEntries: [{ name: 'max.message.bytes', value: String(limit) }] });
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('collector'), logger: silent });
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => void (lines.push(JSON.parse(String(chunk))), cb()) }));
  const producer = createProducer(kafka, { idempotent: true, log: silent });
  await producer.connect();
  cleanups.push(async () => {
    await producer.close();
    await kafka.close();
  });
  const metrics = createCollectorMetrics(new Registry());
  const emit = createEmitter({ producer, topic: telemetry, metrics, log });
  const topics: Topics = { telemetry, slurm, dlq };
  const readTelemetry = async () => {
    const got: ConsumedMessage[] = [];
    await readTopicRange(kafka, { topic: telemetry, onMessages: async (_p, m) => void got.push(...m) });
    return got;
  };
  return { topics, metrics, emit, lines, readTelemetry };
}

const value = async (metric: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }, source: string) =>
  (await metric.get()).values.find((v) => v.labels.source === source)?.value ?? 0;

/** A poller's report of one job on one node, as the Slurm source builds it after an outage. */
function pollerEvent(i: number): UsageEvent {
  const startMs = T0 + (i % 50) * 60_000;
  const e = usageEvent({ tenantId: `tenant-${i % 3}`, jobId: `${1000 + i}`, node: `node-${i % 8}`, clusterId: 'slurm-a', startMs, seconds: 3600 - (i % 60), gpus: 1 + (i % 8) }) as UsageEvent;
  return { ...e, id: `slurm-a/${1000 + i}/node-${i % 8}/running/${e.data.interval.start}/${e.data.interval.end}` };
}

describe('collector emitter and the topic limit', () => {
  it('sends a Slurm backlog of 400 events far above the topic limit; every event arrives once and the ingest counts them all', async () => {
    const limit = 32_768;
    const { topics, metrics, emit, readTelemetry } = await setup(limit);
    const events = Array.from({ length: 400 }, (_, i) => pollerEvent(i));
    const bytes = events.reduce((s, e) => s + Buffer.byteLength(JSON.stringify(e)), 0);
    expect(bytes).toBeGreaterThan(5 * limit); // several requests at the least
    await emit('slurm', events);

    const got = await readTelemetry();
    expect(got).toHaveLength(events.length);
    expect(new Set(got.map((m) => JSON.parse(m.value!.toString()).id))).toEqual(new Set(events.map((e) => e.id)));
    expect(await value(metrics.events, 'slurm')).toBe(events.length);
    const gpuSeconds = events.reduce((s, e) => s + e.data.accelerator.count * (Date.parse(e.data.interval.end) - Date.parse(e.data.interval.start)) / 1000, 0);
    expect(await value(metrics.gpuSeconds, 'slurm')).toBe(gpuSeconds);
    expect(await value(metrics.tooLarge, 'slurm')).toBe(0);

    // Through the real ingest: the books equal the test's arithmetic over every event.
    const { redis, store, prefix } = testStore();
    const groupId = uniqueId('group');
    const ingest = await startIngest({ topics, groupId, store });
    cleanups.push(async () => {
      await ingest.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    });
    const truth = groundTruth(events, pack);
    await waitFor(async () => {
      const got = await storedTotals(store, truth.keys());
      return [...truth].every(([t, v]) => got.get(t) === v);
    }, { what: 'the books to reach the arithmetic' });
    await waitFor(() => caughtUp(groupId, topics), { what: 'the ingest to commit the backlog' });
    expect(await storedTotals(store, truth.keys())).toEqual(truth);
  });

  it('counts and logs an event too large for any request, and sends the others of its batch', async () => {
    const limit = 16_384;
    const { metrics, emit, lines, readTelemetry } = await setup(limit);
    const events = [pollerEvent(1), pollerEvent(2), pollerEvent(3)];
    const huge = { ...events[1]!, id: `${events[1]!.id}/${'z'.repeat(limit)}` };
    await emit('slurm', [events[0]!, huge, events[2]!]);

    const got = await readTelemetry();
    expect(got.map((m) => JSON.parse(m.value!.toString()).id).sort()).toEqual([events[0]!.id, events[2]!.id].sort());
    expect(await value(metrics.events, 'slurm')).toBe(2);
    expect(await value(metrics.tooLarge, 'slurm')).toBe(1);
    expect(await value(metrics.tooLargeGpuSeconds, 'slurm')).toBe(huge.data.accelerator.count * (Date.parse(huge.data.interval.end) - Date.parse(huge.data.interval.start)) / 1000);
    expect(await value(metrics.produceErrors, 'slurm')).toBe(0);
    expect(lines.filter((l) => l.level === 50 && l.eventId === huge.id && l.maxMessageBytes === limit)).toHaveLength(1);
  });
});
