// One Slurm job seen by all three sources a provider has, end to end: a real Slurm job (slurmctld,
// slurmd, slurmrestd), the real collector polling it (allocated, per node) and scraping a dcgm-exporter
// page that labels its GPUs with `hpc_job` (measured, per node; down for a stretch), the job's jobcomp
// record on the Slurm topic, the real ingest and real Redis. The books must hold measured time where
// the exporter answered, the allocation elsewhere, never both, with the job's coverage; every expected
// figure comes from the pages this test served and Slurm's own record of the job (`scontrol show job`).
import { createServer, type Server } from 'node:http';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createProducer, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { dropPrefix, kafkaBrokers, startSlurm, testKafka, uniqueId, waitFor, type TestSlurm } from '@flopwatch/test-harness';
import { SLURM, startIngest, testStore, testTopics } from '../../ingest/test/helpers.js';
import { createCollector, createSlurmrestdClient, createTargetList } from '../src/app.js';

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
// Dense BF16 peak of the H100 SXM5 (DOMAIN.md) and the default pack's utilization for allocations.
const H100_BF16 = 989.4e12;
const DEFAULT_UTILIZATION = 0.4;
const TENSOR = 0.6;
const GPUS = 2;
const SLOT = 1_000;
const PERIOD = 2_000;
const NODE = 'fwnode1';
const ACCOUNT = 'acct-three';

let slurm: TestSlurm;
let kafka: KafkaClient;
let producer: KafkaProducer;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  slurm = await startSlurm({ cluster: 'slurm-a' });
  kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('three'), logger: silent });
  producer = createProducer(kafka, { idempotent: true, log: silent });
  await producer.connect();
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await producer?.close();
  await kafka?.close();
  await slurm?.close();
}, 60_000);

/** The length of the union of [start, end) ranges. */
function unionMs(ranges: [number, number][]): number {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [s, e] = [Number.NaN, Number.NaN];
  for (const [a, b] of sorted) {
    if (Number.isNaN(s) || a > e) {
      if (!Number.isNaN(s)) total += e - s;
      [s, e] = [a, b];
    } else e = Math.max(e, b);
  }
  return Number.isNaN(s) ? total : total + e - s;
}

describe('one Slurm job seen by DCGM, the poller and jobcomp', () => {
  it('counts it once: measured where the exporter answered, the allocation where it was down, the jobcomp record adding nothing; coverage shown', async () => {
    const topics = await testTopics();
    const { redis, store, prefix } = testStore();
    const ingest = await startIngest({ topics, groupId: uniqueId('group'), store });
    cleanups.push(async () => {
      await ingest.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    });

    // The exporter on the job's node: two H100s labelled with the Slurm job while `labelled` says so,
    // answering 500 while `down` says so. It notes the slot of every page it served with the job.
    let jobId = '';
    let labelled = false;
    let down = false;
    const measuredSlots = new Set<number>();
    const page = () => {
      const lines = ['# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge'];
      for (const gpu of [0, 1]) {
        const job = labelled ? `,hpc_job="${jobId}"` : '';
        lines.push(`DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="${gpu}",UUID="GPU-three-${gpu}",device="nvidia${gpu}",modelName="NVIDIA H100 80GB HBM3",Hostname="${NODE}"${job}} ${TENSOR}`);
      }
      return `${lines.join('\n')}\n`;
    };
    const server: Server = createServer((req, res) => {
      if (down) return void res.writeHead(500).end('exporter down');
      if (labelled) measuredSlots.add(Math.floor(Date.now() / SLOT));
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(page());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;

    const registry = new Registry();
    const tenants = { namespaces: {}, accounts: { [ACCOUNT]: ACCOUNT } }; // jobcomp names the account as the tenant
    const collector = createCollector({
      kafka, slurmMarks: store.slurmMarks, metricsRegistry: registry, log: silent, topic: { name: topics.telemetry, partitions: 3 },
      dcgm: {
        targets: createTargetList({ urls: [url], log: silent }),
        scrapeIntervalMs: SLOT, periodMs: PERIOD, scrapeTimeoutMs: 400,
        cluster: { id: 'k8s-unused', country: 'US' }, slurmClusters: SLURM.clusters, precision: 'bf16',
        tenants, unsentMax: 10_000, unsentMaxAgeMs: 60_000,
      },
      slurm: {
        client: createSlurmrestdClient({ url: slurm.url, apiVersion: 'v0.0.38', user: slurm.user, token: { value: slurm.token }, timeoutMs: 10_000 }),
        mapping: SLURM, tenants, emitJobs: true, maxIntervalMs: 3_600_000, pollIntervalMs: 1_000,
      },
    });
    cleanups.push(() => collector.close());
    await collector.start();

    jobId = slurm.sbatch([`--gres=gpu:h100:${GPUS}`, '-A', ACCOUNT, '--wrap', 'sleep 24']);
    await waitFor(() => slurm.showJob(jobId).JobState === 'RUNNING', { timeoutMs: 30_000, intervalMs: 100, what: `job ${jobId} to run` });
    // The poller lists the job within a second; from then on the exporter labels its GPUs.
    await new Promise((r) => setTimeout(r, 2_500));
    labelled = true;
    await new Promise((r) => setTimeout(r, 6_000));
    down = true; // the exporter is down for six seconds in the middle of the job
    await new Promise((r) => setTimeout(r, 6_000));
    down = false;
    await waitFor(() => slurm.showJob(jobId).JobState !== 'RUNNING', { timeoutMs: 60_000, intervalMs: 100, what: `job ${jobId} to end` });
    labelled = false;
    const ended = slurm.showJob(jobId);
    const startMs = Date.parse(`${ended.StartTime}Z`);
    const endMs = Date.parse(`${ended.EndTime}Z`);
    expect(ended.JobState).toBe('COMPLETED');
    expect(ended.NodeList).toBe(NODE);

    // The job's jobcomp record, as slurm's jobcomp/kafka plugin writes it, with its node list.
    const record = {
      jobid: Number(jobId), account: ACCOUNT, cluster: 'slurm-a', partition: 'gpu', nodes: ended.NodeList,
      '@start': new Date(startMs).toISOString(), '@end': new Date(endMs).toISOString(), elapsed: (endMs - startMs) / 1000,
      tres_alloc: `cpu=1,node=1,billing=1,gres/gpu=${GPUS}`, state: ended.JobState,
    };
    await producer.send(topics.slurm, [{ key: ACCOUNT, value: JSON.stringify(record) }]);
    // The poller reports the job's end on its next poll; closing sends the DCGM period still open.
    await new Promise((r) => setTimeout(r, 2 * PERIOD));
    await collector.close();

    // The arithmetic: measured time = the slots the exporter served with the job; allocated = Slurm's
    // start → end. The books hold their union, measured where measured, the allocation elsewhere.
    const measured: [number, number][] = [...measuredSlots].map((s) => [s * SLOT, (s + 1) * SLOT]);
    const allocated: [number, number][] = [[startMs, endMs]];
    const measuredMs = unionMs(measured);
    const allocatedMs = endMs - startMs;
    const unionAll = unionMs([...measured, ...allocated]);
    const allocatedOnlyMs = unionAll - measuredMs;
    expect(measuredMs).toBeGreaterThan(0);
    expect(allocatedOnlyMs).toBeGreaterThanOrEqual(6_000 - 2 * SLOT); // at least the exporter's outage
    const gpuUs = GPUS * 1000 * unionAll;
    const teraOps = (GPUS * H100_BF16 * (TENSOR * measuredMs + DEFAULT_UTILIZATION * allocatedOnlyMs)) / 1000 / 1e12;

    const totals = async () => store.accounting.tenantTotals(ACCOUNT);
    await waitFor(async () => (await totals()).gpu_us === gpuUs, { timeoutMs: 30_000, intervalMs: 200, what: `the job counted once: ${gpuUs} GPU-µs (${measuredMs} ms measured, ${allocatedOnlyMs} ms allocated only)` });
    // Integer tera-operations: each counted or superseded portion rounds once (docs/accounting.md, "Units").
    expect(Math.abs((await totals()).ops! - teraOps), `${(await totals()).ops} vs ${teraOps}`).toBeLessThanOrEqual(64);

    // Coverage: measured GPU-time against the allocation, each counted once.
    const coverage = (await store.accounting.jobCoverage(ACCOUNT, [`slurm-a/${jobId}`])).get(`slurm-a/${jobId}`)!;
    expect(coverage).toEqual({ measuredGpuMicroseconds: GPUS * 1000 * measuredMs, allocatedGpuMicroseconds: GPUS * 1000 * allocatedMs });

    // Nothing dead-lettered (no mixed granularity, nothing too late), and every DCGM sample mapped.
    const admin = testKafka().admin();
    await admin.connect();
    const dlq = await admin.fetchTopicOffsets(topics.dlq);
    await admin.disconnect();
    expect(dlq.reduce((a, p) => a + Number(p.high), 0)).toBe(0);
    const skipped = (await registry.getSingleMetric('flopwatch_collector_dcgm_samples_skipped_total')!.get()).values;
    expect(skipped.filter((v) => v.labels.reason !== 'idle').reduce((a, v) => a + v.value, 0)).toBe(0);
  }, 150_000);
});
