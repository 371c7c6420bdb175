// `pnpm replay:trace`: the whole Alibaba cluster-trace-gpu-v2023 pod list through the real pipeline
// (Kafka → in-process ingest → Redis), checked against an independent computation from the CSV.
// Flags: --from N --count N (a slice of pods), --interval SECONDS, --tenants N, --keep (keep the run's keys and topics).
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { ensureInfra } from '@flopwatch/local';
import { DEFAULT_POLICY_PATH, loadPolicyPack } from '@flopwatch/policy';
import { createKafkaClient, deleteTopics } from '@flopwatch/kafka';
import { createStore, purgePrefix } from '@flopwatch/store';
import { startInProcessIngest } from '@flopwatch/ingest/in-process';
import { DEFAULT_TRACE_ACCELERATOR, DEFAULT_TRACE_OPTIONS, readPodList, replayTrace, requirePodList } from '@flopwatch/simulator';
import { expectedBooks, readRows } from '../test/replay/ground-truth.js';

const { values: args } = parseArgs({
  options: {
    from: { type: 'string', default: '0' },
    count: { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
    interval: { type: 'string', default: String(DEFAULT_TRACE_OPTIONS.intervalSeconds) },
    tenants: { type: 'string', default: String(DEFAULT_TRACE_OPTIONS.tenants) },
    file: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
let file: string;
try {
  file = args.file ?? requirePodList();
} catch (err) {
  console.error(`replay:trace: ${(err as Error).message}`);
  process.exit(1);
}
const from = Number(args.from);
const count = Number(args.count);
const options = { ...DEFAULT_TRACE_OPTIONS, intervalSeconds: Number(args.interval), tenants: Number(args.tenants) };
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const infra = await ensureInfra(process.env, (line) => console.log(`[infra] ${line}`));
const redis = new Redis(infra.redisUrl, { enableAutoPipelining: true });
const runId = `replay-${Date.now().toString(36)}`;
const prefix = `${runId}:`;
const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
const pods = readPodList(file).slice(from, from + count);
console.log(`trace: ${file}\npods ${from}..${from + pods.length - 1} (${fmt(pods.length)}), ${options.intervalSeconds} s reports, ${options.tenants} tenants, epoch ${options.epoch}, Redis prefix ${prefix}`);

let lastPrint = 0;
const throttled = (line: () => string) => {
  if (Date.now() - lastPrint < 1000) return;
  lastPrint = Date.now();
  console.log(line());
};
let total = 0;
try {
  const result = await replayTrace({
    startIngest: startInProcessIngest,
    pods,
    options,
    brokers: infra.kafkaBrokers,
    store: createStore({ redis, prefix }),
    pack,
    log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }),
    topics: { telemetry: `${runId}.telemetry`, dlq: `${runId}.dlq`, partitions: 6 },
    groupId: runId,
    onConverted: (c) => {
      total = c.eventCount;
      console.log(`jobs ${fmt(c.jobs.length)}; skipped: ${Object.entries(c.skipped).map(([r, n]) => `${r} ${n}`).join(', ')}; events to produce ${fmt(c.eventCount)}`);
    },
    onProduced: (p) => throttled(() => `produced ${fmt(p.sent)} / ${fmt(total)} (${fmt((100 * p.sent) / Math.max(total, 1), 1)} %), ${fmt(p.eventsPerSecond)} events/s`),
    onLag: (lag) => throttled(() => `ingest: ${fmt(lag)} events left to read`),
  });

  const expected = expectedBooks(readRows(file, from, count), {
    tenants: options.tenants, intervalSeconds: options.intervalSeconds, precision: options.precision,
    utilization: pack.utilization.default, acceleratorId: DEFAULT_TRACE_ACCELERATOR,
  });
  console.log('\ntenant          GPU-hours      operations          expected (independent)   match');
  let mismatches = 0;
  for (const tenant of [...new Set([...result.books.keys(), ...expected.keys()])].sort()) {
    const got = result.books.get(tenant) ?? { teraOps: 0, gpuMicroseconds: 0 };
    const want = expected.get(tenant) ?? { teraOps: 0, gpuMicroseconds: 0 };
    const ok = got.teraOps === want.teraOps && got.gpuMicroseconds === want.gpuMicroseconds;
    if (!ok) mismatches += 1;
    console.log(`${tenant.padEnd(14)} ${fmt(got.gpuMicroseconds / 3.6e9, 1).padStart(10)}  ${(got.teraOps * 1e12).toExponential(6).padStart(14)}   ${(want.teraOps * 1e12).toExponential(6).padStart(14)} ${fmt(want.gpuMicroseconds / 3.6e9, 1).padStart(10)} h  ${ok ? 'yes' : 'NO'}`);
  }
  const sumOps = [...result.books.values()].reduce((s, b) => s + b.teraOps, 0) * 1e12;
  const sumGpuH = [...result.books.values()].reduce((s, b) => s + b.gpuMicroseconds, 0) / 3.6e9;
  console.log(`\ntotal: ${fmt(sumGpuH, 1)} GPU-hours, ${sumOps.toExponential(6)} operations`);
  console.log(`${fmt(result.produced.sent)} events in ${fmt(result.elapsedMs / 1000, 1)} s end to end: ${fmt((result.produced.sent * 1000) / result.elapsedMs)} events/s (producing alone: ${fmt(result.produced.eventsPerSecond)} events/s)`);
  console.log(mismatches === 0 ? 'every tenant matches the independent computation exactly' : `${mismatches} tenant(s) differ from the independent computation`);
  process.exitCode = mismatches === 0 ? 0 : 1;
} finally {
  if (!args.keep) {
    await purgePrefix(redis, prefix);
    const kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: `${runId}-cleanup`, logger: pino({ level: 'warn' }) });
    await deleteTopics(kafka, [`${runId}.telemetry`, `${runId}.dlq`]);
    await kafka.close();
  }
  redis.disconnect();
}
