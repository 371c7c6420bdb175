// `pnpm bench:ingest [--events N] [--tenants N] [--shape per-node|whole] [--instances N] [--steady-seconds S] [--steady-rate R] [--warmup-seconds S] [--skip-naive] [--steady-only] [--keep]`
// Measures, in one run on this machine: (a) the raw kafkajs consume rate of a pre-filled topic (the
// ceiling), (b) the ingest end to end (consumed → applied in Redis) as a real process, (c) b/a, the
// ingest's peak RSS, Redis memory per 1,000 active usage slices, and produce → alert latency at a
// steady 5,000 events/s, (d) a naive pipeline on the same topic (see naive.ts) and flopwatch/naive.
// For (b) and (d) it prints CPU seconds per million events of the consumer and of Redis (INFO CPU)
// (and for (b) the ingest's minor page faults),
// so a reader sees which side is the limit. The default shape is what DCGM collectors send: every node of a job reports
// its own 8 GPUs (1 to 8 nodes per job); `--shape whole` sends one report per job instead.
// The ingest runs with the image's memory variables and the caller's environment, so
// `FETCH_AHEAD=true pnpm bench:ingest` measures the ingest fetching ahead; the report names what was set.
// Prints figures; asserts nothing.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { ensureInfra } from '@flopwatch/local';
import { purgePrefix } from '@flopwatch/store';
import { naiveConsume } from './naive.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    tenants: { type: 'string', default: '3000' },
    'jobs-per-tenant': { type: 'string', default: '3' },
    shape: { type: 'string', default: 'per-node' },
    'steady-seconds': { type: 'string', default: '20' },
    'steady-rate': { type: 'string', default: '5000' },
    // The steady stream runs this long before the first probe: a freshly started ingest compiles its
    // hot code and opens its connections during its first second (probes then took 200-320 ms).
    'warmup-seconds': { type: 'string', default: '3' },
    instances: { type: 'string', default: '1' },
    'skip-naive': { type: 'boolean', default: false },
    'steady-only': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.events);
const TENANTS = Number(args.tenants);
const JOBS = Number(args['jobs-per-tenant']);
const STEADY_S = Number(args['steady-seconds']);
const WARMUP_S = Number(args['warmup-seconds']);
const STEADY_RATE = Number(args['steady-rate']);
const INSTANCES = Number(args.instances);
const SHAPE = args.shape === 'whole' ? 'whole' : 'per-node';
const PARTITIONS = 12;
const run = `bench-${Date.now().toString(36)}`;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const say = (line: string) => console.log(`[bench] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const T0 = Date.now() - 30 * 86_400_000;
const MODELS = ['nvidia-h100-sxm5-80gb', 'nvidia-a100-sxm4-80gb', 'nvidia-h200-sxm-141gb', 'amd-mi300x', 'nvidia-l40s'];
const COUNTRIES = ['US', 'DE', 'JP', 'SG', 'IN', 'BR'];

/** What one report covers: a job's node (per-node shape) or the whole job. */
interface Slice {
  tenant: number;
  job: number;
  node: string | null;
  gpus: number;
}

/** Every slice of the run, in the order reports cycle through them. */
function slicesOf(): Slice[] {
  const out: Slice[] = [];
  for (let j = 0; j < TENANTS * JOBS; j++) {
    const tenant = Math.floor(j / JOBS);
    const job = j % JOBS;
    if (SHAPE === 'whole') out.push({ tenant, job, node: null, gpus: 8 * (1 + (j % 64)) });
    else for (let n = 0; n < 1 + (j % 8); n++) out.push({ tenant, job, node: `gpu-${tenant}-${job}-${n}`, gpus: 8 });
  }
  return out;
}
const SLICES = slicesOf();

function report(i: number, startMs: number, slice: Slice) {
  const e = event(i, startMs, slice.gpus, slice.tenant, slice.job);
  if (slice.node) {
    (e.data as { node?: string }).node = slice.node;
    e.source = `dcgm://${slice.node}`;
    e.id = `${e.id}/${slice.node}`;
  }
  return e;
}

function event(i: number, startMs: number, gpus: number, tenant: number, job: number) {
  const start = new Date(startMs).toISOString();
  const clusterId = `c${tenant % 7}`;
  return {
    specversion: '1.0', type: 'io.flopwatch.gpu.usage.v1', source: `dcgm://${clusterId}`, id: `${clusterId}/${tenant}-${job}/${start}`,
    time: new Date(startMs + 60_000).toISOString(), subject: `tenant-${tenant}`,
    data: {
      tenantId: `tenant-${tenant}`, jobId: `job-${tenant}-${job}`,
      cluster: { id: clusterId, region: `r${tenant % 3}`, country: COUNTRIES[tenant % COUNTRIES.length]! },
      accelerator: { model: MODELS[(tenant + job) % MODELS.length]!, count: gpus },
      interval: { start, end: new Date(startMs + 60_000).toISOString() },
      precision: 'bf16', utilization: { tensorActive: 0.25 + ((i * 7) % 40) / 100 },
      lineage: { id: `tenant-${tenant}/model-${job % 2}`, parentId: null },
    },
  };
}

async function produceAll(kafka: Kafka, topic: string): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = Date.now();
  const batch = 5_000;
  for (let i = 0; i < N; i += batch) {
    const messages = [];
    for (let k = i; k < Math.min(N, i + batch); k++) {
      const slice = SLICES[k % SLICES.length]!;
      const step = Math.floor(k / SLICES.length);
      messages.push({ key: `tenant-${slice.tenant}`, value: JSON.stringify(report(k, T0 + step * 60_000, slice)) });
    }
    await producer.send({ topic, messages });
    if ((i / batch) % 40 === 0) say(`  produced ${i + messages.length} / ${N} (${Math.round((i + messages.length) / ((Date.now() - started) / 1000))} events/s)`);
  }
  await producer.disconnect();
}

/** (a) kafkajs consuming the topic with no processing: the ceiling for anything built on it. */
async function rawConsume(kafka: Kafka, topic: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${run}-raw`, maxBytesPerPartition: 1_048_576 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let first = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        count += batch.messages.length;
        if (count >= N) resolve();
      },
    });
  });
  await done;
  const seconds = (performance.now() - first) / 1000;
  await consumer.disconnect();
  return N / seconds;
}

function spawnIngest(env: Record<string, string>) {
  // The ingest as production runs it (services/ingest/dist/main.js, see scripts/build.mjs).
  // BENCH_NODE_ARGS adds node flags to the measured ingest, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, 'services/ingest/dist/main.js'], {
    cwd: repoRoot, env: { ...imageEnv(), ...process.env, LOG_LEVEL: 'warn', OPS_PORT: '0', ...env }, stdio: ['ignore', 'inherit', 'inherit'],
  });
  let peakRss = 0;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peakRss = Math.max(peakRss, Number(hwm[1]) * 1024);
    } catch { /* exited */ }
  }, 250);
  /** CPU seconds (user + system) the process has used so far. */
  const cpuSeconds = (): number => processCpuSeconds(child.pid);
  const minorFaults = (): number => processMinorFaults(child.pid);
  return { child, peakRss: () => peakRss, cpuSeconds, minorFaults, stop: async () => { clearInterval(timer); child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

/**
 * The process-level variables the container image sets for every service (deploy/docker/Dockerfile's
 * MALLOC_*, GLIBC_TUNABLES and NODE_OPTIONS), so the measured ingest runs as deployed; the bench's own environment wins.
 */
function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(`${repoRoot}deploy/docker/Dockerfile`, 'utf8');
  const code = dockerfile.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n');
  return Object.fromEntries([...code.matchAll(/\b(MALLOC_[A-Z_]+|GLIBC_TUNABLES|NODE_OPTIONS)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

async function committedTotal(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used so far, NaN when it is gone or unknown. */
function processCpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/**
 * Minor page faults a process has taken so far (/proc/<pid>/stat), NaN when it is gone. Each is the
 * kernel handing over a fresh page; on a VM that can cost microseconds (docs/benchmarks.md, Tuning).
 */
function processMinorFaults(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7]);
  } catch {
    return NaN;
  }
}

/** The local Kafka broker's pid (a `kafka.Kafka` JVM), when it runs on this machine. */
function brokerPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('kafka.Kafka')) return Number(entry);
    } catch { /* gone */ }
  }
  return undefined;
}

/** The whole machine's busy and total CPU time so far (/proc/stat), in seconds summed over cores. */
function machineCpu(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

/** Redis's own CPU seconds so far (INFO CPU, main thread and I/O, user + system). */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** EVALSHA calls Redis has served so far and the µs they took (INFO commandstats). */
async function scriptCalls(redis: Redis): Promise<{ calls: number; usec: number }> {
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info('commandstats'));
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

/** (c) Produce → alert latency of probe events mixed into a steady stream, in a fresh ingest. */
async function steadyLatency(kafka: Kafka, redis: Redis, infra: { kafkaBrokers: string[]; redisUrl: string }): Promise<{ latencies: number[]; probes: number; peakRss: number }> {
  say(`(c) produce → alert latency at a steady ${STEADY_RATE} events/s for ${WARMUP_S} s of warm-up, then ${STEADY_S} s with probes …`);
  const ingest = spawnIngest({ KAFKA_BROKERS: infra.kafkaBrokers.join(','), REDIS_URL: infra.redisUrl, REDIS_PREFIX: `${run}-steady:`, TELEMETRY_TOPIC: `${run}.steady`, SLURM_TOPIC: '', DLQ_TOPIC: `${run}.steady.dlq`, INGEST_GROUP_ID: `${run}-steady`, TOPIC_PARTITIONS: String(PARTITIONS) });
  await sleep(4_000);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  // Each probe is a fresh unregistered tenant passing 10^23 operations on Tier 1 H100s in one event:
  // it raises unverified-at-scale, whose raisedAt minus the probe's produce time is the latency.
  const probeSentAt = new Map<string, number>();
  const tickMs = 50;
  // Ten probes a second (200 in the default 20 s): with fewer, "p99" is just the slowest probe.
  const PROBE_EVERY_TICKS = 2;
  const perTick = Math.round((STEADY_RATE * tickMs) / 1000);
  const warmupTicks = Math.round((WARMUP_S * 1000) / tickMs);
  const ticks = warmupTicks + Math.round((STEADY_S * 1000) / tickMs);
  let k = 0;
  const t0 = performance.now();
  for (let tick = 0; tick < ticks; tick++) {
    const messages = [];
    for (let m = 0; m < perTick; m++, k++) {
      const slice = SLICES[k % SLICES.length]!;
      messages.push({ key: `tenant-${slice.tenant}`, value: JSON.stringify(report(k, Date.now() - 120_000 + Math.floor(k / SLICES.length), { ...slice, gpus: 8 })) });
    }
    if (tick >= warmupTicks && tick % PROBE_EVERY_TICKS === PROBE_EVERY_TICKS - 1) {
      const probe = `probe-${tick}`;
      const nowMs = Date.now(); // one clock reading: the interval must be exactly the policy's hour
      const e = event(k, nowMs - 3_700_000, 100_000, 0, 0);
      e.data.tenantId = probe; e.subject = probe; e.id = `${probe}/1`; e.data.jobId = probe;
      // Its own lineage, as a fresh tenant's run has: sharing tenant-0's, the probes fed one lineage
      // from ever more accounts (structuring), whose evaluation grew with every probe and swamped (c).
      e.data.lineage = { id: `${probe}/model`, parentId: null };
      e.data.accelerator.model = 'nvidia-h100-sxm5-80gb'; e.data.cluster.country = 'US'; e.data.utilization = { tensorActive: 0.5 };
      e.data.interval = { start: new Date(nowMs - 3_700_000).toISOString(), end: new Date(nowMs - 100_000).toISOString() };
      messages.push({ key: probe, value: JSON.stringify(e) });
      probeSentAt.set(probe, nowMs);
    }
    await producer.send({ topic: `${run}.steady`, messages });
    const behind = t0 + (tick + 1) * tickMs - performance.now();
    if (behind > 0) await sleep(behind);
  }
  await producer.disconnect();
  // Wait for every probe's alert (a slow tail is what p99 is about), at most 30 s.
  const bySubject = new Map<string, number>();
  const waitUntil = Date.now() + 30_000;
  while (Date.now() < waitUntil) {
    bySubject.clear();
    const alertIds = await redis.zrange(`${run}-steady:{alerts}:index`, 0, -1);
    for (const id of alertIds) {
      const alert = JSON.parse((await redis.get(`${run}-steady:{alerts}:a:${id}`)) ?? 'null') as { rule: string; subject: string; raisedAt: string } | null;
      if (alert?.rule === 'unverified-at-scale' && probeSentAt.has(alert.subject)) bySubject.set(alert.subject, Date.parse(alert.raisedAt) - probeSentAt.get(alert.subject)!);
    }
    if (bySubject.size >= probeSentAt.size) break;
    await sleep(500);
  }
  const latencies = [...bySubject.values()];
  // BENCH_DUMP_LATENCIES=1 prints every probe as "ms since the first probe:latency ms".
  if (process.env.BENCH_DUMP_LATENCIES) {
    const first = Math.min(...probeSentAt.values());
    say([...probeSentAt.entries()].map(([id, at]) => `${at - first}:${bySubject.get(id) ?? 'none'}`).join(' '));
  }
  const peakRss = ingest.peakRss();
  await ingest.stop();
  return { latencies, probes: probeSentAt.size, peakRss };
}

function latencyLine({ latencies, probes }: { latencies: number[]; probes: number }): string {
  return `p50 ${percentile(latencies, 50)} ms, p90 ${percentile(latencies, 90)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms (${latencies.length}/${probes} probes)`;
}

/** Removes the run's topics (a million events) and keys, which would otherwise pile up run after run. */
async function cleanUp(kafka: Kafka, redis: Redis, topic: string): Promise<void> {
  if (!args.keep) {
    say('removing the run\'s topics and keys (--keep to keep them) …');
    await purgePrefix(redis, `${run}:`);
    await purgePrefix(redis, `${run}-steady:`);
    await purgePrefix(redis, `${run}-naive:`);
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteTopics({ topics: [topic, `${run}.dlq`, `${run}.steady`, `${run}.steady.dlq`] });
    await cleanup.disconnect();
  }
  redis.disconnect();
}

async function main(): Promise<void> {
  const infra = await ensureInfra(process.env, (l) => say(l));
  // The measured ingest runs from its compiled files, as in production: `pnpm build` first, as a command.
  execFileSync(process.execPath, [`${repoRoot}scripts/build.mjs`], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  const kafka = new Kafka({ clientId: run, brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
  const redis = new Redis(infra.redisUrl);
  const admin = kafka.admin();
  await admin.connect();
  const topic = `${run}.telemetry`;
  await admin.createTopics({ waitForLeaders: true, topics: [topic, `${run}.dlq`, `${run}.steady`, `${run}.steady.dlq`].map((t) => ({ topic: t, numPartitions: PARTITIONS })) });
  await admin.disconnect();

  if (args['steady-only']) {
    const steady = await steadyLatency(kafka, redis, infra);
    console.log(`\nflopwatch ingest benchmark, (c) only — ${SHAPE} reports over ${SLICES.length} usage slices, ${new Date().toISOString()}`);
    console.log(`  produce → alert at ${STEADY_RATE} events/s    ${latencyLine(steady)}, after ${WARMUP_S} s of warm-up; ingest peak RSS ${(steady.peakRss / 1048576).toFixed(1)} MiB`);
    await cleanUp(kafka, redis, topic);
    return;
  }

  say(`pre-filling ${topic} with ${N} events over ${TENANTS} tenants × ${JOBS} jobs, ${SLICES.length} usage slices (${SHAPE} reports) …`);
  await produceAll(kafka, topic);

  say('(a) raw kafkajs consume, no processing …');
  const ceiling = await rawConsume(kafka, topic);
  say(`    ${Math.round(ceiling)} events/s`);

  say(`(b) the ingest, end to end (consumed → applied in Redis), ${INSTANCES} process(es) in one consumer group …`);
  const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  const prefix = `${run}:`;
  const groupId = `${run}-ingest`;
  const ingests = Array.from({ length: INSTANCES }, () =>
    spawnIngest({ KAFKA_BROKERS: infra.kafkaBrokers.join(','), REDIS_URL: infra.redisUrl, REDIS_PREFIX: prefix, TELEMETRY_TOPIC: topic, SLURM_TOPIC: '', DLQ_TOPIC: `${run}.dlq`, INGEST_GROUP_ID: groupId, TOPIC_PARTITIONS: String(PARTITIONS), PARTITION_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '12' }));
  let started = 0;
  let last = 0;
  let cpuAtStart = 0;
  let faultsAtStart = 0;
  let redisCpuAtStart = 0;
  let scriptsAtStart = { calls: 0, usec: 0 };
  const broker = brokerPid();
  let brokerCpuAtStart = 0;
  let machineAtStart = { busy: 0, total: 0 };
  for (;;) {
    const done = await committedTotal(kafka, groupId, topic);
    if (done > 0 && started === 0) {
      started = performance.now();
      cpuAtStart = ingests.reduce((sum, i) => sum + i.cpuSeconds(), 0);
      faultsAtStart = ingests.reduce((sum, i) => sum + i.minorFaults(), 0);
      redisCpuAtStart = await redisCpuSeconds(redis);
      scriptsAtStart = await scriptCalls(redis);
      brokerCpuAtStart = processCpuSeconds(broker);
      machineAtStart = machineCpu();
    }
    if (done >= N) break;
    if (done - last >= N / 10) {
      say(`    … ${done} / ${N}`);
      last = done;
    }
    await sleep(200);
  }
  const pipeline = N / ((performance.now() - started) / 1000);
  // From the first commit on: start-up (module loading, group join) is not the hot path.
  const ingestCpu = ingests.reduce((sum, i) => sum + i.cpuSeconds(), 0) - cpuAtStart;
  const ingestFaults = ingests.reduce((sum, i) => sum + i.minorFaults(), 0) - faultsAtStart;
  const redisCpu = (await redisCpuSeconds(redis)) - redisCpuAtStart;
  const brokerCpu = processCpuSeconds(broker) - brokerCpuAtStart;
  const machineAtEnd = machineCpu();
  const machineBusy = (machineAtEnd.busy - machineAtStart.busy) / (machineAtEnd.total - machineAtStart.total);
  const perMillion = (s: number) => (s / N) * 1e6;
  const scriptsAtEnd = await scriptCalls(redis);
  const scripts = { calls: scriptsAtEnd.calls - scriptsAtStart.calls, usec: scriptsAtEnd.usec - scriptsAtStart.usec };
  const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
  const jobs = TENANTS * JOBS;
  const peakRss = Math.max(...ingests.map((i) => i.peakRss()));
  await Promise.all(ingests.map((i) => i.stop()));
  say(`    ${Math.round(pipeline)} events/s; CPU per million events: ingest ${perMillion(ingestCpu).toFixed(1)} s, Redis ${perMillion(redisCpu).toFixed(1)} s; ${scripts.calls} script calls, ${Math.round(scripts.usec / Math.max(1, scripts.calls))} µs each`);

  let naive: { eventsPerSecond: number; cpuSeconds: number; redisCpuSeconds: number; concurrency: number } | null = null;
  if (!args['skip-naive']) {
    say('(d) a naive pipeline on the same topic (JSON.parse, typeof checks, the estimate, 2 HINCRBYFLOAT per event) …');
    const redisBefore = await redisCpuSeconds(redis);
    const result = await naiveConsume({ kafka, redisUrl: infra.redisUrl, topic, groupId: `${run}-naive`, prefix: `${run}-naive:`, events: N, concurrency: Number(process.env.BENCH_CONCURRENCY ?? '12') });
    naive = { ...result, redisCpuSeconds: (await redisCpuSeconds(redis)) - redisBefore };
    say(`    ${Math.round(naive.eventsPerSecond)} events/s; CPU per million events: naive ${perMillion(naive.cpuSeconds).toFixed(1)} s, Redis ${perMillion(naive.redisCpuSeconds).toFixed(1)} s`);
  }

  const steady = await steadyLatency(kafka, redis, infra);

  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  console.log('');
  console.log(`flopwatch ingest benchmark — ${N} events (${SHAPE} reports), ${TENANTS} tenants, ${jobs} jobs, ${SLICES.length} usage slices, ${PARTITIONS} partitions, ${new Date().toISOString()}`);
  const tuned = ['FETCH_AHEAD', 'GLIBC_TUNABLES', 'MALLOC_MMAP_THRESHOLD_', 'FETCH_MAX_BYTES', 'FETCH_MAX_BYTES_PER_PARTITION', 'HEAP_GROWING_PERCENT', 'NODE_OPTIONS'].filter((k) => process.env[k] !== undefined);
  console.log(`  ingest settings                          ${tuned.length > 0 ? tuned.map((k) => `${k}=${process.env[k]}`).join(' ') : 'defaults'}${process.env.BENCH_CONCURRENCY ? ` PARTITION_CONCURRENCY=${process.env.BENCH_CONCURRENCY}` : ''}`);
  console.log(`  (a) raw kafkajs consume (ceiling)        ${Math.round(ceiling).toLocaleString('en-US')} events/s`);
  console.log(`  (b) ingest end to end (applied in Redis) ${Math.round(pipeline).toLocaleString('en-US')} events/s (${INSTANCES} instance${INSTANCES > 1 ? 's' : ''})`);
  console.log(`  (c) b / a                                ${(pipeline / ceiling).toFixed(2)}`);
  console.log(`      CPU s per million events (b)          ingest ${perMillion(ingestCpu).toFixed(1)} s (${INSTANCES > 1 ? 'all instances, ' : ''}2 cores = 2 s/s), Redis ${perMillion(redisCpu).toFixed(1)} s (1 core; other clients of this Redis included), broker ${Number.isNaN(brokerCpu) ? 'n/a (not local)' : `${perMillion(brokerCpu).toFixed(1)} s`}; ${scripts.calls.toLocaleString('en-US')} script calls (${(N / Math.max(1, scripts.calls)).toFixed(1)} events each), ${Math.round(scripts.usec / Math.max(1, scripts.calls))} µs each`);
  console.log(`      machine CPU busy during (b)           ${(100 * machineBusy).toFixed(0)} % of ${availableParallelism()} cores; ingest minor page faults ${Math.round(perMillion(ingestFaults)).toLocaleString('en-US')} per million events`);
  if (naive) {
    console.log(`  (d) naive pipeline, same topic          ${Math.round(naive.eventsPerSecond).toLocaleString('en-US')} events/s (concurrency ${naive.concurrency}); CPU s per million events: naive ${perMillion(naive.cpuSeconds).toFixed(1)} s, Redis ${perMillion(naive.redisCpuSeconds).toFixed(1)} s`);
    console.log(`      flopwatch / naive                    ${(pipeline / naive.eventsPerSecond).toFixed(2)}`);
  }
  console.log(`      ingest peak RSS (per instance)       ${mib(peakRss)} (steady run: ${mib(steady.peakRss)})`);
  console.log(`      Redis memory per 1,000 active slices ${mib(((memAfter - memBefore) / SLICES.length) * 1000)} (${mib(memAfter - memBefore)} for ${SLICES.length} slices of ${jobs} jobs)`);
  console.log(`      produce → alert at ${STEADY_RATE} events/s    ${latencyLine(steady)}, after ${WARMUP_S} s of warm-up`);
  await cleanUp(kafka, redis, topic);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
