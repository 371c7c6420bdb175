// Telemetry as real collectors send it — per node, per GPU, late, out of order, re-reported,
// duplicated, through a recreated topic — produced to a real Kafka and counted by the real ingest
// into a real Redis. Every expected figure is written out here: GPUs × seconds × dense peak ×
// utilization, in tera-operations (10^12), each report's counted part rounded half up.
import { describe, expect, it } from 'vitest';
import { testKafka, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import { Registry } from 'prom-client';
import { DLQ_HEADERS } from '../src/app.js';
import { T0, caughtUp, encode, startIngest, testProducer, testTopics, type Topics, ingestTestEnv } from './helpers.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** NVIDIA H100 SXM5 dense BF16 peak, TFLOP/s (DOMAIN.md). */
const H100 = 989.4;

const { running, cleanups, env } = ingestTestEnv();

async function producer() {
  const p = await testProducer();
  cleanups.push(p.close);
  return p.producer;
}

/** Tera-operations of one report: `gpus` H100s for `seconds` at `util`, rounded as the books round. */
const tera = (gpus: number, seconds: number, util: number) => Math.round(gpus * H100 * seconds * util);

async function totalsOf(store: ReturnType<typeof env>['store'], tenantId: string) {
  return store.accounting.tenantTotals(tenantId);
}

/** Dead letters of a topic, read from the beginning until `count` arrived. */
async function deadLetters(topic: string, count: number) {
  const consumer = testKafka().consumer({ groupId: uniqueId('dlq-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: { reason: string; message: string; value: string }[] = [];
  void consumer.run({
    eachMessage: async ({ message }) => {
      out.push({ reason: message.headers?.[DLQ_HEADERS.reason]?.toString() ?? '', message: message.headers?.[DLQ_HEADERS.message]?.toString() ?? '', value: message.value?.toString() ?? '' });
    },
  });
  await waitFor(() => out.length >= count, { what: `${count} dead letters` });
  await consumer.disconnect();
  return out;
}

async function run(topics: Topics, store: ReturnType<typeof env>['store'], registry = new Registry()) {
  const groupId = uniqueId('group');
  running.push(await startIngest({ topics, groupId, store, registry }));
  return groupId;
}

describe('ingest of telemetry as real collectors send it', () => {
  it('counts a 4-node job reported by each node\'s exporter (own source), 60 one-minute intervals, in full', async () => {
    const topics = await testTopics();
    const { store } = env();
    const events = [];
    for (let m = 0; m < 60; m++) {
      for (const node of ['gpu-node-1', 'gpu-node-2', 'gpu-node-3', 'gpu-node-4']) {
        events.push(usageEvent({ tenantId: 'multi-node', jobId: 'train-1', node, source: `dcgm://${node}`, startMs: T0 + m * MIN, seconds: 60, gpus: 8, tensorActive: 0.45 }));
      }
    }
    await (await producer()).send(topics.telemetry, encode(events));
    const groupId = await run(topics, store);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    const totals = await totalsOf(store, 'multi-node');
    expect(totals.ops).toBe(240 * tera(8, 60, 0.45)); // 4 nodes × 60 minutes
    expect(totals.gpu_us).toBe(32 * 3600 * 1e6);
  });

  it('counts per-GPU reports (node = host/GPU) of one job once each', async () => {
    const topics = await testTopics();
    const { store } = env();
    const events = [];
    for (let m = 0; m < 10; m++) {
      for (let g = 0; g < 8; g++) events.push(usageEvent({ tenantId: 'per-gpu', jobId: 'j', node: `host-7/${g}`, startMs: T0 + m * MIN, seconds: 60, gpus: 1, tensorActive: 0.35 }));
    }
    await (await producer()).send(topics.telemetry, encode([...events, ...events.slice(0, 8)])); // the first minute twice
    const registry = new Registry();
    const groupId = await run(topics, store, registry);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect((await totalsOf(store, 'per-gpu')).ops).toBe(80 * tera(1, 60, 0.35));
    const covered = await registry.getSingleMetric('flopwatch_ingest_covered_gpu_seconds_total')!.get();
    expect(covered.values.find((v) => v.labels.reason === 'duplicate')!.value).toBe(8 * 60);
  });

  it('counts a 64-GPU job whose 24 hourly reports arrive shuffled (a backlog flush), and an interval that arrives after its successor', async () => {
    const topics = await testTopics();
    const { store } = env();
    const order = [12, 3, 22, 0, 7, 18, 1, 15, 9, 20, 5, 23, 11, 2, 16, 8, 21, 4, 13, 19, 6, 10, 17, 14];
    const events = order.map((h) => usageEvent({ tenantId: 'backlog', jobId: 'big-64', startMs: T0 - 24 * HOUR + h * HOUR, seconds: 3600, gpus: 64, tensorActive: 0.41 }));
    await (await producer()).send(topics.telemetry, encode(events));
    const groupId = await run(topics, store);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect((await totalsOf(store, 'backlog')).ops).toBe(24 * tera(64, 3600, 0.41));
  });

  it('counts overlapping re-reports shifted by half an interval once', async () => {
    const topics = await testTopics();
    const { store } = env();
    // Minute reports on the minute, then the same stream re-reported on the half minute.
    const onMinute = Array.from({ length: 30 }, (_, m) => usageEvent({ tenantId: 'rereport', jobId: 'j', node: 'h1', startMs: T0 + m * MIN, seconds: 60, gpus: 8, tensorActive: 0.5 }));
    const shifted = Array.from({ length: 30 }, (_, m) => usageEvent({ tenantId: 'rereport', jobId: 'j', node: 'h1', source: 'dcgm://second-collector', startMs: T0 + m * MIN + 30_000, seconds: 60, gpus: 8, tensorActive: 0.5 }));
    await (await producer()).send(topics.telemetry, encode([...onMinute, ...shifted]));
    const registry = new Registry();
    const groupId = await run(topics, store, registry);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    // The union is 30.5 minutes: 30 whole minutes plus the last shifted report's second half.
    expect((await totalsOf(store, 'rereport')).ops).toBe(30 * tera(8, 60, 0.5) + tera(8, 30, 0.5));
    const covered = await registry.getSingleMetric('flopwatch_ingest_covered_gpu_seconds_total')!.get();
    // Shifted reports 0-28 lie inside the first stream's 30 minutes (duplicates); the last one
    // overlaps it by 30 seconds and counts its other 30.
    expect(covered.values.find((v) => v.labels.reason === 'duplicate')!.value).toBe(29 * 8 * 60);
    expect(covered.values.find((v) => v.labels.reason === 'overlap')!.value).toBe(8 * 30);
  });

  it('counts 5,000 one-GPU array tasks and 20,000 distinct jobs of one tenant, then a neighbour\'s event', async () => {
    const topics = await testTopics();
    const { store } = env();
    const tasks = Array.from({ length: 5_000 }, (_, i) => usageEvent({ tenantId: 'array-tenant', jobId: `array_1_${i}`, startMs: T0, seconds: 60, gpus: 1, tensorActive: 0.25 }));
    const jobs = Array.from({ length: 20_000 }, (_, i) => usageEvent({ tenantId: 'array-tenant', jobId: `sweep-${i}`, startMs: T0 + MIN, seconds: 60, gpus: 1, tensorActive: 0.25 }));
    const neighbour = usageEvent({ tenantId: 'neighbour', jobId: 'n', startMs: T0, seconds: 60, gpus: 8, tensorActive: 0.25 });
    // One message key for all of them: one partition, consumed in large batches.
    const p = await producer();
    const messages = encode([...tasks, ...jobs]).map((m) => ({ ...m, key: 'k' }));
    for (let i = 0; i < messages.length; i += 2_000) await p.send(topics.telemetry, messages.slice(i, i + 2_000));
    await p.send(topics.telemetry, [{ ...encode([neighbour])[0]!, key: 'k' }]);
    const groupId = await run(topics, store);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 120_000 });
    expect((await totalsOf(store, 'array-tenant')).ops).toBe(25_000 * tera(1, 60, 0.25));
    expect((await totalsOf(store, 'neighbour')).ops).toBe(tera(8, 60, 0.25));
  }, 180_000);

  it('dead-letters a job reported at a second granularity, naming the job, and counts the first', async () => {
    const topics = await testTopics();
    const { store } = env();
    const whole = usageEvent({ tenantId: 'mixed', jobId: 'job-77', startMs: T0, seconds: 600, gpus: 16, tensorActive: 0.4 });
    const perNode = ['a', 'b'].map((n) => usageEvent({ tenantId: 'mixed', jobId: 'job-77', node: `node-${n}`, startMs: T0, seconds: 600, gpus: 8, tensorActive: 0.4 }));
    await (await producer()).send(topics.telemetry, encode([whole, ...perNode]));
    const groupId = await run(topics, store);
    const dead = await deadLetters(topics.dlq, 2);
    expect(dead.map((d) => d.reason)).toEqual(['mixed_granularity', 'mixed_granularity']);
    expect(dead[0]!.message).toContain('cluster-a/job-77');
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect((await totalsOf(store, 'mixed')).ops).toBe(tera(16, 600, 0.4));
  });

  it('counts a late report of a slice never pruned, even beyond the lateness bound, and dead-letters one beyond the absolute age bound', async () => {
    const topics = await testTopics();
    const { store } = env();
    // The default pack prunes after 45 days and refuses beyond 400; the tenant's newest usage is at T0.
    const recent = usageEvent({ tenantId: 'late', jobId: 'now', startMs: T0, seconds: 3600, gpus: 8, tensorActive: 0.4 });
    const within = usageEvent({ tenantId: 'late', jobId: 'backfill', startMs: T0 - 44 * DAY, seconds: 3600, gpus: 8, tensorActive: 0.4 });
    const beyondLateness = usageEvent({ tenantId: 'late', jobId: 'jobcomp', startMs: T0 - 60 * DAY, seconds: 3600, gpus: 8, tensorActive: 0.4 });
    const beyond = usageEvent({ tenantId: 'late', jobId: 'ancient', startMs: T0 - 401 * DAY, seconds: 3600, gpus: 8, tensorActive: 0.4 });
    await (await producer()).send(topics.telemetry, encode([recent, within, beyondLateness, beyond]));
    const groupId = await run(topics, store);
    const [dead] = await deadLetters(topics.dlq, 1);
    expect(dead!.reason).toBe('interval_too_late');
    expect(dead!.message).toMatch(/cluster-a\/ancient .*more than 400 days \(limits.maxAgeDays\) before/);
    expect(JSON.parse(dead!.value).data.jobId).toBe('ancient');
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect((await totalsOf(store, 'late')).ops).toBe(3 * tera(8, 3600, 0.4));
  });

  it('counts new events on a topic deleted and recreated (offsets restart at 0) and never recounts the old ones', async () => {
    const topics = await testTopics();
    const { store } = env();
    const first = Array.from({ length: 20 }, (_, m) => usageEvent({ tenantId: 'recreated', jobId: 'j', startMs: T0 + m * MIN, seconds: 60, gpus: 8, tensorActive: 0.4 }));
    const p = await producer();
    await p.send(topics.telemetry, encode(first));
    const groupId = await run(topics, store);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    while (running.length) await running.pop()!.close();

    const admin = testKafka().admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topics.telemetry] });
    await waitFor(async () => !(await admin.listTopics()).includes(topics.telemetry), { what: 'the topic to be deleted' });
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.telemetry, numPartitions: 3 }] });
    await admin.disconnect();
    // The new topic carries the old stream's last 5 minutes again (a collector's re-send) and 10 new ones.
    const next = Array.from({ length: 15 }, (_, m) => usageEvent({ tenantId: 'recreated', jobId: 'j', startMs: T0 + (15 + m) * MIN, seconds: 60, gpus: 8, tensorActive: 0.4 }));
    await p.send(topics.telemetry, encode(next));
    const group2 = await run(topics, store);
    await waitFor(() => caughtUp(group2, topics), { what: 'the new group to catch up' });
    expect((await totalsOf(store, 'recreated')).ops).toBe(30 * tera(8, 60, 0.4));
  });
});
