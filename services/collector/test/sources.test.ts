// The collector's two sources end to end: a real single-node Slurm (slurmctld, slurmd, slurmrestd with
// JWT), local HTTP servers serving dcgm-exporter pages, real Kafka, the real ingest and real Redis.
// Every expected figure is computed here from the inputs the test made: GPUs × seconds × peak × utilization.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createProducer, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { dropPrefix, kafkaBrokers, redisUrl, serviceMain, startSlurm, uniqueId, waitFor, type TestSlurm } from '@flopwatch/test-harness';
import { SLURM, startIngest, testStore, testTopics, type TestIngest, type Topics } from '../../ingest/test/helpers.js';
import { createCollector, createCollectorMetrics, createDcgmSource, createEmitter, createSlurmSource, createSlurmrestdClient, createTargetList, type DcgmSourceDeps } from '../src/app.js';

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
// Dense BF16 peaks (DOMAIN.md): H100 SXM5 989.4 TFLOP/s, A100 SXM4 312 TFLOP/s.
const H100_BF16 = 989.4e12;
const A100_BF16 = 312e12;
/** Tera-operations the books keep for `ms` of an event whose whole interval of `eventMs` has `operations`: the ingest's documented rounding. */
const tera = (ms: number, operations: number, eventMs = ms) => Math.floor(ms * (operations / 1e12 / eventMs) + 0.5);

let slurm: TestSlurm;
let kafka: KafkaClient;
let producer: KafkaProducer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  slurm = await startSlurm({ cluster: 'slurm-a' });
  kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('collector'), logger: silent });
  producer = createProducer(kafka, { idempotent: true, log: silent });
  await producer.connect();
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await producer?.close();
  await kafka?.close();
  await slurm?.close();
}, 60_000);

/** A fresh topic set, key prefix and running ingest; the collector side gets its own metrics. */
async function pipeline() {
  const topics: Topics = await testTopics();
  const { redis, store, prefix, keys } = testStore();
  const ingest: TestIngest = await startIngest({ topics, groupId: uniqueId('group'), store });
  cleanups.push(async () => {
    await ingest.close();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });
  const metrics = createCollectorMetrics(new Registry());
  const emit = createEmitter({ producer, topic: topics.telemetry, metrics, log: silent });
  const totals = async (tenantId: string) => {
    const t = await store.accounting.tenantTotals(tenantId);
    return { gpuUs: t.gpu_us ?? 0, ops: t.ops ?? 0 };
  };
  return { topics, redis, store, keys, metrics, emit, totals };
}

async function runningJob(args: string[]): Promise<{ id: string; startMs: number }> {
  const id = slurm.sbatch(args);
  const job = await waitFor(() => {
    const fields = slurm.showJob(id);
    return fields.JobState === 'RUNNING' ? fields : null;
  }, { timeoutMs: 30_000, intervalMs: 250, what: `job ${id} to run` });
  return { id, startMs: Date.parse(`${job.StartTime}Z`) };
}

const counter = async (metric: { get(): Promise<{ values: { value: number; labels: Partial<Record<string, string | number>> }[] }> }, labels: Record<string, string> = {}) =>
  (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((a, v) => a + v.value, 0);

describe('DCGM exporter source', () => {
  const S = 15_000; // scrape interval
  const P = 60_000; // report period
  const SLOTS = 16; // four periods of four scrapes
  // node-b's exporter is down for these scrapes: twice mid-period (5, 6), then for the whole third period.
  const B_DOWN = new Set([5, 6, 8, 9, 10, 11]);
  const H100 = 'NVIDIA H100 80GB HBM3';
  const A100 = 'NVIDIA A100-SXM4-80GB';

  // Changing values per node, GPU and scrape.
  const tensor = (node: number, gpu: number, slot: number) => (((slot * 37 + gpu * 11 + node * 5) % 90) + 5) / 100;
  const utilPercent = (gpu: number, slot: number) => ((slot * 13 + gpu * 29) % 80) + 10;

  interface Gpu { index: number; labels: string; util?: 'tensor' | 'gpu_util' }
  const common = (node: string, gpu: number, model: string) =>
    `gpu="${gpu}",UUID="GPU-${node}-${gpu}",pci_bus_id="00000000:${(gpu + 7).toString(16).padStart(2, '0')}:00.0",device="nvidia${gpu}",modelName="${model}",Hostname="${node}",DCGM_FI_DRIVER_VERSION="535.104.05"`;

  function page(nodeIndex: number, gpus: Gpu[], slot: number): string {
    const lines = ['# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).', '# TYPE DCGM_FI_DEV_GPU_UTIL gauge'];
    for (const g of gpus) lines.push(`DCGM_FI_DEV_GPU_UTIL{${g.labels}} ${utilPercent(g.index, slot)}`);
    lines.push('# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).', '# TYPE DCGM_FI_DEV_SM_CLOCK gauge');
    for (const g of gpus) lines.push(`DCGM_FI_DEV_SM_CLOCK{${g.labels}} 1980`);
    if (gpus.some((g) => g.util !== 'gpu_util')) {
      lines.push('# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.', '# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge');
      for (const g of gpus) if (g.util !== 'gpu_util') lines.push(`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${g.labels}} ${tensor(nodeIndex, g.index, slot).toFixed(6)}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** One exporter: an HTTP server on its own port that can go down and come back on the same port. */
  async function exporter(render: () => string) {
    let server: Server | undefined;
    let port = 0;
    const up = async () => {
      server = createServer((req, res) => {
        if (req.url !== '/metrics') return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render());
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    };
    const down = async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    };
    await up();
    cleanups.push(down);
    return { url: () => `http://127.0.0.1:${port}/metrics`, up, down };
  }

  it('reports each job per node and period through the real ingest with totals equal to the arithmetic, and an exporter down leaves a gap of exactly its missed scrapes', async () => {
    const { emit, metrics, totals, store } = await pipeline();
    // The HPC job a node-b exporter labels with hpc_job: a real Slurm job, its account known through slurmrestd.
    const hpc = await runningJob(['--gres=gpu:h100:4', '-A', 'acct-hpc', '--wrap', 'sleep 600']);
    cleanups.push(async () => slurm.cancel(hpc.id));

    const nodeA: Gpu[] = [
      { index: 0, labels: `${common('node-a', 0, H100)},container="trainer",namespace="team-a",pod="llm-0"` },
      { index: 1, labels: `${common('node-a', 1, H100)},container="trainer",namespace="team-a",pod="llm-0"` },
      { index: 2, labels: common('node-a', 2, H100) }, // idle: no pod
      { index: 3, labels: `${common('node-a', 3, H100)},container="c",namespace="nobody-knows",pod="x-0"` }, // unmapped namespace
    ];
    const nodeB: Gpu[] = [0, 1, 2, 3].map((index) => ({ index, labels: `${common('node-b', index, H100)},hpc_job="${hpc.id}"` }));
    // An exporter without profiling metrics: GPU utilization is the (flagged) fallback.
    const nodeC: Gpu[] = [0, 1].map((index) => ({ index, util: 'gpu_util' as const, labels: `${common('node-c', index, A100)},container="trainer",namespace="team-b",pod="bert-3"` }));

    let slot = 0;
    const a = await exporter(() => page(0, nodeA, slot));
    const b = await exporter(() => page(1, nodeB, slot));
    const c = await exporter(() => page(2, nodeC, slot));

    const tenants = { namespaces: { 'team-a': 'tenant-k8s', 'team-b': 'tenant-k8s-b' }, accounts: { 'acct-hpc': 'tenant-hpc' } };
    const slurmSource = createSlurmSource({
      client: createSlurmrestdClient({ url: slurm.url, apiVersion: 'v0.0.38', user: slurm.user, token: { value: slurm.token }, timeoutMs: 10_000 }),
      marks: store.slurmMarks,
      mapping: SLURM,
      tenants,
      emitJobs: false,
      maxIntervalMs: 3_600_000,
      emit,
      metrics,
      log: silent,
    });
    expect(await slurmSource.poll(Date.now())).toBe(true);
    expect(slurmSource.jobInfo(hpc.id)).toEqual({ account: 'acct-hpc', cluster: 'slurm-a' });

    // A clock two hours back, on a period boundary: scrape i happens in the middle of slot i.
    const T0 = Math.floor((Date.now() - 2 * 3_600_000) / P) * P;
    let clock = T0;
    const dcgmDeps: DcgmSourceDeps = {
      targets: createTargetList({ urls: [a.url(), b.url(), c.url()], log: silent }),
      scrapeIntervalMs: S,
      periodMs: P,
      scrapeTimeoutMs: 5_000,
      cluster: { id: 'dcgm-a', country: 'US' },
      // The Slurm cluster's own country, unlike DCGM_CLUSTER's: the hpc_job's reports must carry it.
      slurmClusters: { 'slurm-a': { country: 'DE' } },
      precision: 'bf16',
      tenants,
      hpcJob: (id) => slurmSource.jobInfo(id),
      unsentMax: 1_000,
      unsentMaxAgeMs: 60_000,
      emit,
      metrics,
      log: silent,
      now: () => clock,
    };
    const source = createDcgmSource(dcgmDeps);

    // Each target is scraped on its own for the slot; none waits for another.
    for (slot = 0; slot < SLOTS; slot++) {
      if (B_DOWN.has(slot) && !B_DOWN.has(slot - 1)) await b.down();
      if (!B_DOWN.has(slot) && B_DOWN.has(slot - 1)) await b.up();
      clock = T0 + slot * S + S / 2;
      const kept = await Promise.all([a, b, c].map((e) => source.scrape(e.url(), clock)));
      expect(kept).toEqual([true, !B_DOWN.has(slot), true]);
      await source.flush(clock);
      if (B_DOWN.has(slot)) expect(await counter(metrics.targetUp, { target: b.url() })).toBe(0);
    }
    expect(await counter(metrics.targetUp, { target: b.url() })).toBe(1);
    expect(await counter(metrics.slotsMissed, { target: b.url() })).toBe(B_DOWN.size);
    expect(await counter(metrics.slotsMissed, { target: a.url() })).toBe(0);
    await source.flush(T0 + SLOTS * S);

    // The arithmetic: per node and job, runs of consecutive observed slots inside each period.
    const expected = new Map<string, { gpuUs: number; ops: number }>();
    const add = (tenant: string, gpus: number, slots: number[], peak: number, value: (gpu: number, slot: number) => number, gpuIndexes: number[]) => {
      for (let period = 0; period < SLOTS / 4; period++) {
        const observed = slots.filter((s) => Math.floor(s / 4) === period);
        const runs: number[][] = [];
        for (const s of observed) {
          const run = runs.at(-1);
          if (run && run.at(-1) === s - 1) run.push(s);
          else runs.push([s]);
        }
        for (const run of runs) {
          const ms = run.length * S;
          let sum = 0;
          for (const s of run) for (const g of gpuIndexes) sum += value(g, s);
          const mean = sum / (gpus * run.length);
          const operations = gpus * peak * (ms / 1000) * mean;
          const e = expected.get(tenant) ?? { gpuUs: 0, ops: 0 };
          expected.set(tenant, { gpuUs: e.gpuUs + gpus * 1000 * ms, ops: e.ops + tera(ms, operations) });
        }
      }
    };
    const all = Array.from({ length: SLOTS }, (_, i) => i);
    add('tenant-k8s', 2, all, H100_BF16, (g, s) => tensor(0, g, s), [0, 1]);
    add('tenant-hpc', 4, all.filter((s) => !B_DOWN.has(s)), H100_BF16, (g, s) => tensor(1, g, s), [0, 1, 2, 3]);
    add('tenant-k8s-b', 2, all, A100_BF16, (g, s) => utilPercent(g, s) / 100, [0, 1]);

    // Written out: node-b's 4 GPUs were seen in 10 of 16 fifteen-second scrapes, node-a's pod 2 GPUs in all 16.
    expect(expected.get('tenant-hpc')!.gpuUs).toBe(4 * 10 * 15 * 1e6);
    expect(expected.get('tenant-k8s')!.gpuUs).toBe(2 * 16 * 15 * 1e6);

    await waitFor(async () => {
      for (const [tenant, want] of expected) if ((await totals(tenant)).gpuUs !== want.gpuUs) return false;
      return true;
    }, { timeoutMs: 30_000, what: 'every tenant to reach its GPU-seconds' });
    for (const [tenant, want] of expected) {
      const got = await totals(tenant);
      expect(got.gpuUs, tenant).toBe(want.gpuUs);
      // One unit (10^12 operations) of rounding per event at most, the estimate's float order aside.
      expect(Math.abs(got.ops - want.ops), `${tenant}: ${got.ops} vs ${want.ops}`).toBeLessThanOrEqual(3);
    }
    // The HPC job is counted under its Slurm cluster and that cluster's country, not DCGM_CLUSTER's.
    const hpcTotals = await store.accounting.tenantTotals('tenant-hpc');
    expect(hpcTotals['ops:country:DE']).toBe(hpcTotals.ops);
    expect(hpcTotals['ops:country:US']).toBeUndefined();
    expect((await store.accounting.topJobs('tenant-hpc')).map((j) => j.jobKey)).toEqual([`slurm-a/${hpc.id}`]);
    expect((await store.accounting.topJobs('tenant-k8s')).map((j) => j.jobKey)).toEqual(['dcgm-a/team-a/llm-0']);
    // A Slurm cluster SLURM_MAPPING_FILE does not list: the job's GPUs are skipped and counted, never put under DCGM_CLUSTER.
    const unmappedMetrics = createCollectorMetrics(new Registry());
    const unmapped = createDcgmSource({ ...dcgmDeps, slurmClusters: {}, metrics: unmappedMetrics });
    expect(await unmapped.scrape(b.url(), clock)).toBe(true);
    expect(await counter(unmappedMetrics.dcgmSkipped, { reason: 'unmapped_cluster' })).toBe(4);
    expect(await counter(metrics.dcgmSkipped, { reason: 'idle' })).toBe(SLOTS);
    expect(await counter(metrics.dcgmSkipped, { reason: 'unmapped_job' })).toBe(SLOTS);
    // Events: node-a and node-c one per period; node-b one in period 0, two around the gap in period 1
    // (slots 4 and 7), none in period 2, one in period 3.
    expect(await counter(metrics.events, { source: 'dcgm' })).toBe(4 + 4 + (1 + 2 + 0 + 1));
  });

  /** A DCGM source on a clock two hours back, period-aligned; the test scrapes each slot itself. */
  function fakeClockSource(urls: string[], over: Partial<DcgmSourceDeps> & Pick<DcgmSourceDeps, 'emit' | 'metrics' | 'tenants'>) {
    const T0 = Math.floor((Date.now() - 2 * 3_600_000) / P) * P;
    const clock = { now: T0 };
    const source = createDcgmSource({
      targets: createTargetList({ urls, log: silent }), scrapeIntervalMs: S, periodMs: P, scrapeTimeoutMs: 5_000, cluster: { id: 'dcgm-a', country: 'US' }, slurmClusters: {},
      precision: 'bf16', hpcJob: () => undefined, unsentMax: 1_000, unsentMaxAgeMs: 60_000, log: silent, now: () => clock.now, ...over,
    });
    /** Scrapes every target in the middle of `slot`, then produces what has finished. */
    const scrapeSlot = async (slot: number) => {
      clock.now = T0 + slot * S + S / 2;
      for (const url of urls) expect(await source.scrape(url, clock.now)).toBe(true);
      await source.flush(clock.now);
    };
    return { source, T0, clock, scrapeSlot };
  }

  it('counts every pod that time-slices a GPU for its share, and the GPU in total as one GPU', async () => {
    const { emit, metrics, totals } = await pipeline();
    // GPU 0 shared by two pods, GPU 1 by three: dcgm-exporter repeats the GPU's values under each pod's labels.
    const pods = [
      { gpu: 0, ns: 'ts-a', pod: 'a-0' }, { gpu: 0, ns: 'ts-b', pod: 'b-0' },
      { gpu: 1, ns: 'ts-a', pod: 'a-1' }, { gpu: 1, ns: 'ts-b', pod: 'b-1' }, { gpu: 1, ns: 'ts-c', pod: 'c-1' },
    ];
    let slot = 0;
    const e = await exporter(() => page(3, pods.map((x) => ({ index: x.gpu, labels: `${common('node-ts', x.gpu, H100)},container="c",namespace="${x.ns}",pod="${x.pod}"` })), slot));
    const tenants = { namespaces: { 'ts-a': 'tenant-ts-a', 'ts-b': 'tenant-ts-b', 'ts-c': 'tenant-ts-c' }, accounts: {} };
    const { scrapeSlot } = fakeClockSource([e.url()], { emit, metrics, tenants });
    const SLOTS_TS = 8; // two periods
    for (slot = 0; slot < SLOTS_TS; slot++) await scrapeSlot(slot);
    await scrapeSlot(SLOTS_TS); // closes the second period

    // Shares in thousandths: 1000 split evenly, the remainder to the first pods in name order.
    const share: Record<string, number> = { 'ts-a/a-0': 500, 'ts-b/b-0': 500, 'ts-a/a-1': 334, 'ts-b/b-1': 333, 'ts-c/c-1': 333 };
    const expected = new Map<string, { gpuUs: number; ops: number; events: number }>();
    for (const x of pods) {
      const tenant = tenants.namespaces[x.ns as keyof typeof tenants.namespaces];
      const milli = share[`${x.ns}/${x.pod}`]!;
      for (let period = 0; period < SLOTS_TS / 4; period++) {
        let activity = 0;
        for (let s = period * 4; s < period * 4 + 4; s++) activity += tensor(3, x.gpu, s);
        const ms = 4 * S;
        const want = expected.get(tenant) ?? { gpuUs: 0, ops: 0, events: 0 };
        expected.set(tenant, { gpuUs: want.gpuUs + milli * ms, ops: want.ops + tera(ms, (milli / 1000) * H100_BF16 * activity * (S / 1000)), events: want.events + 1 });
      }
    }
    // Written out: the five pods together hold exactly the two GPUs for the eight slots.
    expect([...expected.values()].reduce((a, v) => a + v.gpuUs, 0)).toBe(2 * 1000 * SLOTS_TS * S);
    await waitFor(async () => {
      for (const [tenant, want] of expected) if ((await totals(tenant)).gpuUs !== want.gpuUs) return false;
      return true;
    }, { timeoutMs: 30_000, what: 'every tenant sharing the GPUs counted' });
    let allOps = 0;
    for (const [tenant, want] of expected) {
      const got = await totals(tenant);
      allOps += got.ops;
      expect(Math.abs(got.ops - want.ops), `${tenant}: ${got.ops} vs ${want.ops}`).toBeLessThanOrEqual(want.events);
    }
    // The GPUs' own operations, counted once between their pods (one unit of rounding per event at most).
    let gpuOps = 0;
    for (const gpu of [0, 1]) for (let s = 0; s < SLOTS_TS; s++) gpuOps += (H100_BF16 * tensor(3, gpu, s) * (S / 1000)) / 1e12;
    expect(Math.abs(allOps - gpuOps)).toBeLessThanOrEqual(pods.length * 2);
    expect(await counter(metrics.events, { source: 'dcgm' })).toBe(pods.length * 2);
  });

  it('reports a job on one node with GPUs of two models as one slice: nothing lost', async () => {
    const { emit, metrics, totals, store } = await pipeline();
    const models = [H100, H100, A100];
    const peaks = [H100_BF16, H100_BF16, A100_BF16];
    let slot = 0;
    const e = await exporter(() => page(4, models.map((model, index) => ({ index, labels: `${common('node-mix', index, model)},container="c",namespace="mix",pod="mix-0"` })), slot));
    const { scrapeSlot } = fakeClockSource([e.url()], { emit, metrics, tenants: { namespaces: { mix: 'tenant-mix' }, accounts: {} } });
    for (slot = 0; slot < 8; slot++) await scrapeSlot(slot);
    await scrapeSlot(8);

    // Each model's share: its GPUs × its own peak × their tensor activity, per period of four slots.
    let ops = 0;
    for (let period = 0; period < 2; period++) {
      let operations = 0;
      for (let s = period * 4; s < period * 4 + 4; s++) for (const g of [0, 1, 2]) operations += peaks[g]! * tensor(4, g, s) * (S / 1000);
      ops += tera(4 * S, operations);
    }
    const gpuUs = 3 * 1000 * 8 * S;
    await waitFor(async () => (await totals('tenant-mix')).gpuUs === gpuUs, { timeoutMs: 30_000, what: 'the three GPUs counted' });
    const got = await totals('tenant-mix');
    expect(Math.abs(got.ops - ops), `${got.ops} vs ${ops}`).toBeLessThanOrEqual(2);
    // One report per period, under the model of most GPUs: the breakdown by model shows the whole slice there.
    expect(await counter(metrics.events, { source: 'dcgm' })).toBe(2);
    const byModel = await store.accounting.tenantTotals('tenant-mix');
    expect(byModel['ops:model:nvidia-h100-sxm5-80gb']).toBe(got.ops);
    expect(byModel['ops:model:nvidia-a100-sxm4-80gb']).toBeUndefined();
  });

  it('never moves a late answer into another slot: the slot it was for is missed and counted', async () => {
    const { emit, metrics, totals } = await pipeline();
    let slot = 0;
    const late = 2; // the answer for this slot comes when the slot has ended
    const gpus = [{ index: 0, labels: `${common('node-late', 0, H100)},container="c",namespace="late",pod="l-0"` }];
    const box: { source?: ReturnType<typeof fakeClockSource> } = {};
    const e = await exporter(() => {
      if (slot === late) box.source!.clock.now = box.source!.T0 + (slot + 1) * S;
      return page(8, gpus, slot);
    });
    const source = (box.source = fakeClockSource([e.url()], { emit, metrics, tenants: { namespaces: { late: 'tenant-late' }, accounts: {} } }));
    for (slot = 0; slot < 4; slot++) {
      source.clock.now = source.T0 + slot * S + S / 2;
      expect(await source.source.scrape(e.url(), source.clock.now)).toBe(slot !== late);
    }
    await source.source.flush(source.T0 + P);
    expect(await counter(metrics.slotsMissed, { target: e.url() })).toBe(1);
    // Slots 0-1 and 3 are reported (two events around the gap); slot 2 is in neither.
    const ops = tera(2 * S, H100_BF16 * (tensor(8, 0, 0) + tensor(8, 0, 1)) * (S / 1000)) + tera(S, H100_BF16 * tensor(8, 0, 3) * (S / 1000));
    await waitFor(async () => (await totals('tenant-late')).gpuUs === 1000 * 3 * S, { timeoutMs: 30_000, what: 'three slots counted' });
    expect(Math.abs((await totals('tenant-late')).ops - ops)).toBeLessThanOrEqual(2);
    expect(await counter(metrics.events, { source: 'dcgm' })).toBe(2);
  });

  it('bounds the unsent reports: the oldest are dropped and counted, and the source is not ready while it cannot deliver', async () => {
    const { emit, metrics, totals, topics } = await pipeline();
    // A real producer, closed: every send through it fails, as when Kafka refuses the reports.
    const closed = createProducer(kafka, { idempotent: true, log: silent });
    await closed.connect();
    await closed.close();
    const refusing = createEmitter({ producer: closed, topic: topics.telemetry, metrics, log: silent });
    let delivering = false;
    let slot = 0;
    const e = await exporter(() => page(6, [0, 1].map((index) => ({ index, labels: `${common('node-u', index, H100)},container="c",namespace="unsent",pod="u-0"` })), slot));
    const MAX_AGE = 4 * S;
    // One report per slot (the period is one slot), at most three kept.
    const { source, clock, T0 } = fakeClockSource([e.url()], {
      emit: (from, events) => (delivering ? emit : refusing)(from, events), metrics, tenants: { namespaces: { unsent: 'tenant-unsent' }, accounts: {} },
      periodMs: S, unsentMax: 3, unsentMaxAgeMs: MAX_AGE,
    });
    const scrapeAndFlush = async (s: number) => {
      slot = s;
      clock.now = T0 + s * S + S / 2;
      expect(await source.scrape(e.url(), clock.now)).toBe(true);
      await source.flush(clock.now); // produces the report of the slot before
    };
    for (const s of [0, 1, 2, 3]) await scrapeAndFlush(s);
    // Reports of slots 0-2 kept, the oldest for two slots: within the bound and the age, still ready.
    expect(source.delivery()).toMatchObject({ ready: true, unsent: 3, droppedSinceDelivery: 0 });
    for (const s of [4, 5]) await scrapeAndFlush(s);
    clock.now = T0 + 6 * S;
    await source.flush(clock.now);
    // Six reports refused, three kept: those of slots 0, 1 and 2 are dropped, and named.
    expect(source.delivery()).toMatchObject({ ready: false, unsent: 3, droppedSinceDelivery: 3 });
    expect(await counter(metrics.reportsDropped)).toBe(3);
    expect(await counter(metrics.gpuSecondsDropped)).toBe(3 * 2 * (S / 1000));
    expect(await counter(metrics.unsentReports)).toBe(3);

    // Kafka takes reports again: the kept ones (slots 3-5) go out and the source is ready.
    delivering = true;
    await source.flush(clock.now);
    expect(source.delivery()).toMatchObject({ ready: true, unsent: 0, droppedSinceDelivery: 0 });

    // A report refused and kept longer than the age bound makes the source not ready, with nothing dropped.
    delivering = false;
    await scrapeAndFlush(6);
    clock.now = T0 + 7 * S;
    await source.flush(clock.now);
    expect(source.delivery()).toMatchObject({ ready: true, unsent: 1 });
    clock.now += MAX_AGE + 1;
    expect(source.delivery()).toMatchObject({ ready: false, unsent: 1, droppedSinceDelivery: 0 });
    delivering = true;
    await source.flush(clock.now);
    expect(source.delivery()).toMatchObject({ ready: true, unsent: 0 });

    // The books hold exactly slots 3 to 6: what was dropped is missing, and only that.
    let ops = 0;
    for (const s of [3, 4, 5, 6]) ops += tera(S, [0, 1].reduce((a, g) => a + H100_BF16 * tensor(6, g, s) * (S / 1000), 0));
    const gpuUs = 2 * 1000 * 4 * S;
    await waitFor(async () => (await totals('tenant-unsent')).gpuUs === gpuUs, { timeoutMs: 30_000, what: 'the delivered reports counted' });
    expect(Math.abs((await totals('tenant-unsent')).ops - ops)).toBeLessThanOrEqual(4);
    expect(await counter(metrics.reportsDropped)).toBe(3);
  });

  it('scrapes each exporter on its own schedule: one that accepts and never answers costs only its own slots', async () => {
    const { totals, topics, store } = await pipeline();
    const SLOT = 1_000;
    const PERIOD = 2_000;
    // The healthy exporter: two GPUs of a pod; it notes the slot (by its own clock) of every page it serves.
    const served: number[] = [];
    const gpus = [0, 1].map((index) => ({ index, labels: `${common('node-ok', index, H100)},container="c",namespace="steady",pod="s-0"` }));
    const healthy = await exporter(() => {
      const at = Math.floor(Date.now() / SLOT);
      served.push(at);
      return page(7, gpus, at);
    });
    // The silent one: accepts every connection and never says a word.
    const sockets = new Set<Socket>();
    const silentServer = createNetServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silentServer.close(r));
    });
    const silentUrl = `http://127.0.0.1:${(silentServer.address() as { port: number }).port}/metrics`;

    const registry = new Registry();
    const collector = createCollector({
      kafka, slurmMarks: store.slurmMarks, metricsRegistry: registry, log: silent, topic: { name: topics.telemetry, partitions: 3 },
      dcgm: {
        targets: createTargetList({ urls: [healthy.url(), silentUrl], log: silent }),
        scrapeIntervalMs: SLOT, periodMs: PERIOD, scrapeTimeoutMs: 400,
        cluster: { id: 'dcgm-a', country: 'US' }, slurmClusters: {}, precision: 'bf16',
        tenants: { namespaces: { steady: 'tenant-steady' }, accounts: {} }, unsentMax: 1_000, unsentMaxAgeMs: 60_000,
      },
      slurm: null,
    });
    cleanups.push(() => collector.close());
    await collector.start();
    // Periods close on their own timer while the silent exporter holds its scrapes open.
    await waitFor(async () => (await totals('tenant-steady')).gpuUs > 0, { timeoutMs: 30_000, intervalMs: 200, what: 'a first period reported' });
    await waitFor(() => served.length >= 6, { timeoutMs: 30_000, intervalMs: 200, what: 'six pages served' });
    expect(collector.readiness().ready).toBe(true);
    await collector.close();

    // The arithmetic over the pages served: runs of consecutive slots inside each period.
    const metric = (name: string) => registry.getSingleMetric(name) as unknown as Parameters<typeof counter>[0];
    let gpuUs = 0;
    let ops = 0;
    const runs: number[][] = [];
    for (const s of served) {
      const run = runs.at(-1);
      if (run && run.at(-1) === s - 1 && Math.floor(s / 2) === Math.floor(run[0]! / 2)) run.push(s);
      else runs.push([s]);
    }
    for (const run of runs) {
      const ms = run.length * SLOT;
      gpuUs += 2 * 1000 * ms;
      ops += tera(ms, run.reduce((a, s) => a + H100_BF16 * (tensor(7, 0, s) + tensor(7, 1, s)) * (SLOT / 1000), 0));
    }
    // In full: one page for every slot from the first to the last, none lost to the silent exporter.
    expect(served).toEqual(Array.from({ length: served.at(-1)! - served[0]! + 1 }, (_, i) => served[0]! + i));
    await waitFor(async () => (await totals('tenant-steady')).gpuUs === gpuUs, { timeoutMs: 30_000, what: `the ${served.length} pages served counted (${gpuUs} GPU-µs)` });
    expect(Math.abs((await totals('tenant-steady')).ops - ops), `${(await totals('tenant-steady')).ops} vs ${ops}`).toBeLessThanOrEqual(runs.length);
    // Every slot of the silent exporter is a named gap; none of the healthy one's is.
    expect(await counter(metric('flopwatch_collector_dcgm_slots_missed_total'), { target: healthy.url() })).toBe(0);
    expect(await counter(metric('flopwatch_collector_dcgm_slots_missed_total'), { target: silentUrl })).toBeGreaterThanOrEqual(served.length - 1);
    expect(await counter(metric('flopwatch_collector_dcgm_target_up'), { target: silentUrl })).toBe(0);
  });
});

describe('the collector process', () => {
  it('runs both sources from its environment, and on SIGTERM produces the open DCGM period and exits 0', async () => {
    const { redis, keys, totals, topics } = await pipeline();
    const prefix = keys.prefix;
    const job = await runningJob(['--gres=gpu:h100:2', '-A', 'acct-proc', '--wrap', 'sleep 600']);
    cleanups.push(async () => slurm.cancel(job.id));

    // One exporter: two GPUs of a pod; it counts the scrapes it answers.
    let scrapes = 0;
    const labels = (gpu: number) => `gpu="${gpu}",UUID="GPU-proc-${gpu}",device="nvidia${gpu}",modelName="NVIDIA H100 80GB HBM3",Hostname="proc-node",DCGM_FI_DRIVER_VERSION="535.104.05",container="c",namespace="proc-ns",pod="proc-pod"`;
    const exporter = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${labels(0)}} 0.5\nDCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${labels(1)}} 0.25\n`);
    });
    await new Promise<void>((resolve) => exporter.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((r) => exporter.close(() => r())));

    const dir = mkdtempSync(join(tmpdir(), 'fw-collector-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'tenants.yaml'), 'namespaces: { proc-ns: tenant-proc-dcgm }\naccounts: { acct-proc: tenant-proc-slurm }\n');
    writeFileSync(join(dir, 'slurm.yaml'), 'partitions: { gpu: { accelerator: nvidia-h100-sxm5-80gb } }\nclusters: { slurm-a: { country: US }, proc-cluster: { country: US } }\n');
    writeFileSync(join(dir, 'jwt'), `${slurm.token}\n`, { mode: 0o600 });
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const child = spawn(process.execPath, [serviceMain('collector')], {
      cwd: root,
      env: {
        ...process.env, LOG_LEVEL: 'info', OPS_PORT: '0', KAFKA_BROKERS: kafkaBrokers().join(','), REDIS_URL: redisUrl(), REDIS_PREFIX: prefix, TELEMETRY_TOPIC: topics.telemetry,
        TENANT_MAPPING_FILE: join(dir, 'tenants.yaml'), SLURM_MAPPING_FILE: join(dir, 'slurm.yaml'),
        DCGM_TARGETS: `http://127.0.0.1:${(exporter.address() as { port: number }).port}/metrics`, DCGM_CLUSTER: 'proc-cluster', DCGM_SCRAPE_INTERVAL: '1s', DCGM_SCRAPE_TIMEOUT: '500ms', DCGM_REPORT_PERIOD: '1h',
        SLURMRESTD_URL: slurm.url, SLURMRESTD_USER: slurm.user, SLURMRESTD_TOKEN_FILE: join(dir, 'jwt'), SLURM_POLL_INTERVAL: '1s',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    child.stdout.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    child.stderr.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => void (child.exitCode === null && child.kill('SIGKILL')));

    await waitFor(() => lines.some((l) => l.includes('collector ready')), { timeoutMs: 60_000, what: `collector ready (log: ${lines.slice(-5).join(' | ')})` });
    await waitFor(async () => (await totals('tenant-proc-slurm')).gpuUs > 0, { timeoutMs: 30_000, what: 'the running job counted from polls' });
    await waitFor(() => scrapes >= 3, { timeoutMs: 30_000, what: 'three scrapes' });
    // The report period is an hour: nothing of the DCGM source is produced until the shutdown.
    expect((await totals('tenant-proc-dcgm')).gpuUs).toBe(0);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.some((l) => l.includes('"msg":"closed"') && l.includes('"step":"collector"'))).toBe(true);
    const observed = scrapes;
    // Two GPUs × one second per scrape observed (each scrape falls in its own one-second slot).
    await waitFor(async () => (await totals('tenant-proc-dcgm')).gpuUs === 2 * observed * 1_000 * 1_000, { timeoutMs: 30_000, what: `${observed} scrapes × 2 GPUs counted` });
    // Slurm: counted from the job's start to the last poll, whose end is the mark left in Redis.
    const mark = (JSON.parse((await redis.hget(keys.collector.slurmMarks('slurm-a'), job.id)) ?? '{}') as { t: number }).t;
    expect((await totals('tenant-proc-slurm')).gpuUs).toBe(2 * 1_000 * (mark - job.startMs));
    expect(mark).toBeLessThanOrEqual(Date.now());
  }, 120_000);
});
