// The collector's two sources end to end: a real single-node Slurm (slurmctld, slurmd, slurmrestd with
// JWT), local HTTP servers serving dcgm-exporter pages, real Kafka, the real ingest and real Redis.
// Every expected figure is computed here from the inputs the test made: GPUs × seconds × peak × utilization.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createProducer, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { dropPrefix, kafkaBrokers, redisUrl, serviceMain, startSlurm, uniqueId, waitFor, type TestSlurm } from '@flopwatch/test-harness';
import { SLURM, startIngest, testStore, testTopics, type TestIngest, type Topics } from '../../ingest/test/helpers.js';
import { createCollectorMetrics, createDcgmSource, createEmitter, createSlurmSource, createSlurmrestdClient, createTargetList } from '../src/app.js';

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
  const { redis, store, prefix } = testStore();
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
  return { topics, redis, store, metrics, emit, totals };
}

async function runningJob(args: string[]): Promise<{ id: string; startMs: number }> {
  const id = slurm.sbatch(args);
  const job = await waitFor(() => {
    const fields = slurm.showJob(id);
    return fields.JobState === 'RUNNING' ? fields : null;
  }, { timeoutMs: 30_000, intervalMs: 250, what: `job ${id} to run` });
  return { id, startMs: Date.parse(`${job.StartTime}Z`) };
}

const counter = async (metric: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }, labels: Record<string, string> = {}) =>
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
    const { emit, metrics, totals, redis, store } = await pipeline();
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
      redis,
      keys: store.keys,
      mapping: SLURM,
      tenants,
      emitJobs: false,
      maxIntervalMs: 3_600_000,
      emit,
      metrics,
      log: silent,
    });
    expect(await slurmSource.poll(Date.now())).toBe(true);
    expect(slurmSource.accountOf(hpc.id)).toBe('acct-hpc');

    const source = createDcgmSource({
      targets: createTargetList({ urls: [a.url(), b.url(), c.url()], log: silent }),
      scrapeIntervalMs: S,
      periodMs: P,
      scrapeTimeoutMs: 5_000,
      cluster: { id: 'dcgm-a', country: 'US' },
      precision: 'bf16',
      tenants,
      hpcJobAccount: (id) => slurmSource.accountOf(id),
      emit,
      metrics,
      log: silent,
    });

    // A clock two hours back, on a period boundary: scrape i happens in the middle of slot i.
    const T0 = Math.floor((Date.now() - 2 * 3_600_000) / P) * P;
    for (slot = 0; slot < SLOTS; slot++) {
      if (B_DOWN.has(slot) && !B_DOWN.has(slot - 1)) await b.down();
      if (!B_DOWN.has(slot) && B_DOWN.has(slot - 1)) await b.up();
      await source.round(T0 + slot * S + S / 2);
      if (B_DOWN.has(slot)) expect(await counter(metrics.targetUp, { target: b.url() })).toBe(0);
    }
    expect(await counter(metrics.targetUp, { target: b.url() })).toBe(1);
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
    expect(await counter(metrics.dcgmSkipped, { reason: 'idle' })).toBe(SLOTS);
    expect(await counter(metrics.dcgmSkipped, { reason: 'unmapped_job' })).toBe(SLOTS);
    // Events: node-a and node-c one per period; node-b one in period 0, two around the gap in period 1
    // (slots 4 and 7), none in period 2, one in period 3.
    expect(await counter(metrics.events, { source: 'dcgm' })).toBe(4 + 4 + (1 + 2 + 0 + 1));
  });
});

describe('the collector process', () => {
  it('runs both sources from its environment, and on SIGTERM produces the open DCGM period and exits 0', async () => {
    const { redis, store, totals, topics } = await pipeline();
    const prefix = store.keys.prefix;
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
        DCGM_TARGETS: `http://127.0.0.1:${(exporter.address() as { port: number }).port}/metrics`, DCGM_CLUSTER: 'proc-cluster', DCGM_SCRAPE_INTERVAL: '1s', DCGM_REPORT_PERIOD: '1h',
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
    const mark = (JSON.parse((await redis.hget(store.keys.collector.slurmMarks('slurm-a'), job.id)) ?? '{}') as { t: number }).t;
    expect((await totals('tenant-proc-slurm')).gpuUs).toBe(2 * 1_000 * (mark - job.startMs));
    expect(mark).toBeLessThanOrEqual(Date.now());
  }, 120_000);
});
