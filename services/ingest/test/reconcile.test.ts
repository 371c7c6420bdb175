// Several sources for one Slurm job, through a real Kafka, the real ingest and a real Redis: DCGM
// exporters (measured, per node), the running-job poller and the jobcomp record (allocated, per node),
// built here as each source builds them (per node, with the ids each source writes: services/collector/README.md, docs/accounting.md). Every expected figure is this
// file's own arithmetic: GPUs × seconds × dense peak × utilization in tera-operations, measured where
// DCGM measured, the pack's default utilization (0.4) elsewhere. Five GPUs per node make every
// minute's figure a whole number of tera-operations at every utilization used, so the documented
// rounding (each counted or superseded portion rounded half up) leaves no remainder to track and the
// expected total is the same in every arrival order.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { testKafka, uniqueId, waitFor } from '@flopwatch/test-harness';
import { createKafkaClient } from '@flopwatch/kafka';
import { kafkaBrokers } from '@flopwatch/test-harness';
import { createKeys, createStore } from '@flopwatch/store';
import type { UsageEvent } from '@flopwatch/contracts';
import { DLQ_HEADERS } from '../src/app.js';
import { replayDeadLetters } from '../src/dlq-replay.js';
import { T0 as T_BASE, caughtUp, encode, ingestTestEnv, silent, startIngest, testProducer, testTopics, type Topics } from './helpers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** NVIDIA H100 SXM5 dense BF16 peak, TFLOP/s. */
const H100 = 989.4;
const GPUS = 5;
/** Whole seconds, so every source's RFC 3339 text is exact. */
const T0 = Math.floor(T_BASE / MIN) * MIN;
const CLUSTER = 'slurm-a';
/** Tera-operations of `gpus` H100s for `seconds` at `util`. */
const tera = (gpus: number, seconds: number, util: number) => Math.round(gpus * H100 * seconds * util);

const { running, cleanups, env } = ingestTestEnv();

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

interface Spec { tenantId: string; jobId: string; node: string; fromMs: number; toMs: number; gpus?: number }

function base(spec: Spec, source: string, id: string) {
  return {
    specversion: '1.0', type: 'io.flopwatch.gpu.usage.v1', source, id, time: rfc3339(spec.toMs), subject: spec.tenantId,
    data: {
      tenantId: spec.tenantId, jobId: spec.jobId, node: spec.node,
      cluster: { id: CLUSTER, country: 'US' },
      accelerator: { model: 'nvidia-h100-sxm5-80gb', count: spec.gpus ?? GPUS },
      interval: { start: rfc3339(spec.fromMs), end: rfc3339(spec.toMs) },
      precision: 'bf16',
    },
  };
}
/** A DCGM exporter's report of one node: measured tensor activity. */
function dcgm(spec: Spec, tensorActive: number, source = `dcgm://${CLUSTER}`): UsageEvent {
  const e = base(spec, source, `${CLUSTER}/${spec.jobId}/${spec.node}/${rfc3339(spec.fromMs)}`);
  return { ...e, data: { ...e.data, utilization: { tensorActive }, labels: { 'dcgm.utilization': 'tensor_active' } } } as UsageEvent;
}
/** The running-job poller's report of one node: an allocation (no utilization). */
function poller(spec: Spec): UsageEvent {
  const e = base(spec, `slurmrestd://${CLUSTER}`, `${CLUSTER}/${spec.jobId}/${spec.node}/running/${rfc3339(spec.fromMs)}/${rfc3339(spec.toMs)}`);
  return { ...e, data: { ...e.data, labels: { 'slurm.partition': 'gpu', 'slurm.state': 'RUNNING' } } } as UsageEvent;
}
/** A jobcomp record's piece for one node (at most an hour): an allocation. */
function jobcomp(spec: Spec): UsageEvent {
  const e = base(spec, `slurm://${CLUSTER}`, `${CLUSTER}/${spec.jobId}/${spec.node}/${rfc3339(spec.fromMs)}`);
  return { ...e, data: { ...e.data, labels: { 'slurm.partition': 'gpu', 'slurm.state': 'COMPLETED' } } } as UsageEvent;
}

async function producer() {
  const p = await testProducer();
  cleanups.push(p.close);
  return p.producer;
}

async function run(topics: Topics, store: ReturnType<typeof env>['store'], registry = new Registry(), groupId = uniqueId('group')) {
  running.push(await startIngest({ topics, groupId, store, registry }));
  return groupId;
}

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

async function counter(registry: Registry, name: string) {
  const m = await registry.getSingleMetric(name)!.get();
  return m.values;
}

/** A deterministic shuffle (mulberry32), so a failure can be reproduced. */
function shuffled<T>(list: T[], seed: number): T[] {
  let a = seed;
  const rand = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('one Slurm job reported by DCGM, the poller and jobcomp', () => {
  it('counts each node-minute once, measured where DCGM measured and allocated elsewhere, in every arrival order, and shows coverage', async () => {
    const topics = await testTopics();
    const { store } = env();
    const nodes = ['gn-1', 'gn-2'];
    const util = (m: number) => [0.25, 0.3, 0.35, 0.45, 0.5][m % 5]!;
    // gn-2's exporter is down for minutes 20-39: no DCGM reports there.
    const exporterDown = (node: string, m: number) => node === 'gn-2' && m >= 20 && m < 40;
    const sources = (tenantId: string) => {
      const job = { tenantId, jobId: '4242' };
      const measured: UsageEvent[] = [];
      const polled: UsageEvent[] = [];
      const completed: UsageEvent[] = [];
      for (const node of nodes) {
        for (let m = 0; m < 60; m++) if (!exporterDown(node, m)) measured.push(dcgm({ ...job, node, fromMs: T0 + m * MIN, toMs: T0 + (m + 1) * MIN }, util(m)));
        // The poller saw the job running for 50 minutes, polling every 2; jobcomp covers the whole hour.
        for (let m = 0; m < 50; m += 2) polled.push(poller({ ...job, node, fromMs: T0 + m * MIN, toMs: T0 + (m + 2) * MIN }));
        completed.push(jobcomp({ ...job, node, fromMs: T0, toMs: T0 + HOUR }));
      }
      return { measured, allocated: [...polled, ...completed] };
    };
    const orders: Record<string, UsageEvent[]> = {};
    {
      const s = sources('recon-measured-first');
      orders['recon-measured-first'] = [...s.measured, ...s.allocated];
    }
    {
      const s = sources('recon-allocated-first');
      orders['recon-allocated-first'] = [...s.allocated, ...s.measured];
    }
    {
      const s = sources('recon-interleaved');
      orders['recon-interleaved'] = shuffled([...s.measured, ...s.allocated], 28);
    }
    {
      const s = sources('recon-replayed');
      const once = [...s.allocated, ...s.measured];
      orders['recon-replayed'] = [...once, ...[...once].reverse(), ...shuffled(once, 7)];
    }
    // The test's arithmetic: per node-minute, DCGM's figure where it measured, the allocation's elsewhere.
    let expectedOps = 0;
    let measuredSeconds = 0;
    for (const node of nodes) {
      for (let m = 0; m < 60; m++) {
        if (exporterDown(node, m)) expectedOps += tera(GPUS, 60, 0.4);
        else {
          expectedOps += tera(GPUS, 60, util(m));
          measuredSeconds += 60;
        }
      }
    }
    const p = await producer();
    for (const events of Object.values(orders)) await p.send(topics.telemetry, encode(events));
    const registry = new Registry();
    const groupId = await run(topics, store, registry);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 60_000 });

    for (const tenantId of Object.keys(orders)) {
      const totals = await store.accounting.tenantTotals(tenantId);
      expect({ tenantId, ops: totals.ops }).toEqual({ tenantId, ops: expectedOps });
      expect(totals.gpu_us).toBe(nodes.length * 3600 * GPUS * 1e6);
      expect(totals.conflicts ?? 0).toBe(0);
      const { jobs } = await store.usage.tenantJobs(tenantId);
      expect(jobs).toEqual([{ jobKey: `${CLUSTER}/4242`, teraOps: expectedOps, coverage: { measuredGpuMicroseconds: measuredSeconds * GPUS * 1e6, allocatedGpuMicroseconds: nodes.length * 3600 * GPUS * 1e6 } }]);
      const usage = await store.usage.tenant(tenantId, new Date(T0 + HOUR));
      expect(usage.coverage).toEqual({ measuredGpuMicroseconds: measuredSeconds * GPUS * 1e6, allocatedGpuMicroseconds: nodes.length * 3600 * GPUS * 1e6 });
    }
    // The ingest's coverage metrics: every tenant's job, once each.
    const measured = await counter(registry, 'flopwatch_ingest_measured_gpu_seconds_total');
    const allocated = await counter(registry, 'flopwatch_ingest_allocated_gpu_seconds_total');
    expect(measured.find((v) => v.labels.cluster === CLUSTER)!.value).toBeCloseTo(4 * measuredSeconds * GPUS, 6);
    expect(allocated.find((v) => v.labels.cluster === CLUSTER)!.value).toBeCloseTo(4 * nodes.length * 3600 * GPUS, 6);
  }, 120_000);

  it('counts a 60-day job delivered by its jobcomp record in full, beside the tenant\'s recent usage', async () => {
    const topics = await testTopics();
    const { store } = env();
    const tenantId = 'recon-long-job';
    const recent = poller({ tenantId, jobId: 'recent', node: 'gn-9', fromMs: T0, toMs: T0 + HOUR });
    // The jobcomp record of a job that ran 60 days and ended a day before the recent usage, in one-hour pieces.
    const start = T0 - 61 * DAY;
    const pieces: UsageEvent[] = [];
    for (let h = 0; h < 60 * 24; h++) pieces.push(jobcomp({ tenantId, jobId: 'long', node: 'gn-1', fromMs: start + h * HOUR, toMs: start + (h + 1) * HOUR }));
    const p = await producer();
    await p.send(topics.telemetry, encode([recent]));
    await p.send(topics.telemetry, encode(pieces));
    const groupId = await run(topics, store);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 60_000 });
    const totals = await store.accounting.tenantTotals(tenantId);
    expect(totals.ops).toBe(tera(GPUS, 3600, 0.4) * (1 + 60 * 24));
    expect(totals.gpu_us).toBe((1 + 60 * 24) * 3600 * GPUS * 1e6);
  }, 120_000);

  it('keeps the first report\'s count where two reports of one kind disagree, and records the conflict', async () => {
    const topics = await testTopics();
    const { store } = env();
    const tenantId = 'recon-conflict';
    const job = { tenantId, jobId: '77' };
    // The poller says 5 GPUs on gn-1 for the first 10 minutes; the jobcomp record says 4 for the hour.
    const polled = [0, 2, 4, 6, 8].map((m) => poller({ ...job, node: 'gn-1', fromMs: T0 + m * MIN, toMs: T0 + (m + 2) * MIN }));
    const completed = jobcomp({ ...job, node: 'gn-1', gpus: 4, fromMs: T0, toMs: T0 + HOUR });
    // Two exporters measure gn-2's same minute differently.
    const first = dcgm({ ...job, node: 'gn-2', fromMs: T0, toMs: T0 + MIN }, 0.5);
    const second = dcgm({ ...job, node: 'gn-2', fromMs: T0, toMs: T0 + MIN }, 0.25, `dcgm://${CLUSTER}-standby`);
    await (await producer()).send(topics.telemetry, encode([...polled, completed, first, second]));
    const registry = new Registry();
    const groupId = await run(topics, store, registry);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    const totals = await store.accounting.tenantTotals(tenantId);
    // First wins: the poller's 5 GPUs for 10 minutes, jobcomp's 4 for the other 50; the first exporter's minute.
    expect(totals.ops).toBe(tera(5, 600, 0.4) + tera(4, 3000, 0.4) + tera(GPUS, 60, 0.5));
    expect(totals.conflicts).toBe(2);
    expect(totals.conflict_gpu_us).toBe(4 * 600 * 1e6 + GPUS * 60 * 1e6);
    const conflicts = await counter(registry, 'flopwatch_ingest_conflicts_total');
    expect(Object.fromEntries(conflicts.map((v) => [v.labels.kind, v.value]))).toEqual({ allocated: 1, measured: 1 });
    const { conflicts: records } = await store.usage.tenantJobs(tenantId);
    const byKind = Object.fromEntries(records.map((c) => [c.measured ? 'measured' : 'allocated', c]));
    expect(byKind.allocated).toMatchObject({ eventId: completed.id, source: completed.source, jobKey: `${CLUSTER}/77`, node: 'gn-1', overlapGpuSeconds: 4 * 600 });
    expect(byKind.allocated!.rateDifference).toBeCloseTo(4 / 5 - 1, 9);
    expect(byKind.measured).toMatchObject({ eventId: second.id, source: second.source, node: 'gn-2', overlapGpuSeconds: GPUS * 60 });
    expect(byKind.measured!.rateDifference).toBeCloseTo(0.25 / 0.5 - 1, 9);
  });
});

describe('lateness: tombstones and the absolute age bound', () => {
  it('refuses what falls before a tombstone or beyond the age bound, and after the bound is raised a DLQ replay counts nothing twice', async () => {
    const topics = await testTopics();
    const { store: defaults, redis, prefix } = env();
    void defaults;
    const tenantId = 'recon-late';
    const small = createStore({ redis, prefix, maxLatenessMs: 2 * DAY, maxAgeMs: 20 * DAY });
    const old = { tenantId, jobId: 'old-run', node: 'gn-1', fromMs: T0 - 10 * DAY, toMs: T0 - 10 * DAY + HOUR };
    const counted = [poller(old), poller({ tenantId, jobId: 'now', node: 'gn-1', fromMs: T0, toMs: T0 + HOUR })];
    // Then: DCGM's report of the old slice's hour (pruned since: before its tombstone), and a report 25 days old.
    const lateMeasured = dcgm(old, 0.5);
    const ancient = jobcomp({ tenantId, jobId: 'ancient', node: 'gn-3', fromMs: T0 - 25 * DAY, toMs: T0 - 25 * DAY + HOUR });
    const p = await producer();
    await p.send(topics.telemetry, encode(counted));
    const groupId = uniqueId('group');
    await run(topics, small, new Registry(), groupId);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect(await redis.hget(createKeys(prefix).tenant.cover(tenantId), `${CLUSTER}/old-run|gn-1`)).toBe(`~${old.toMs}`);
    await p.send(topics.telemetry, encode([lateMeasured, ancient]));
    const dead = await deadLetters(topics.dlq, 2);
    expect(dead.map((d) => d.reason)).toEqual(['interval_too_late', 'interval_too_late']);
    expect(dead[0]!.message).toMatch(/tombstone/);
    expect(dead[1]!.message).toMatch(/more than 20 days \(limits.maxAgeDays\)/);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    const before = tera(GPUS, 3600, 0.4) * 2;
    expect((await small.accounting.tenantTotals(tenantId)).ops).toBe(before);

    // The operator raises both bounds and replays the DLQ (pnpm dlq:replay --reason interval_too_late).
    while (running.length) await running.pop()!.close();
    const raised = createStore({ redis, prefix, maxLatenessMs: 30 * DAY, maxAgeMs: 400 * DAY });
    await run(topics, raised, new Registry(), groupId);
    const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('replay'), logger: silent });
    try {
      const summary = await replayDeadLetters({ kafka, dlqTopic: topics.dlq, reasons: ['interval_too_late'], log: silent });
      expect(summary).toMatchObject({ selected: 2, republished: 2 });
    } finally {
      await kafka.close();
    }
    // The ancient hour now counts; the old slice's hour is refused again (its time was counted), never twice.
    const again = await deadLetters(topics.dlq, 3);
    expect(again[2]!.reason).toBe('interval_too_late');
    expect(JSON.parse(again[2]!.value).id).toBe(lateMeasured.id);
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect((await raised.accounting.tenantTotals(tenantId)).ops).toBe(before + tera(GPUS, 3600, 0.4));
  }, 120_000);
});
