// `pnpm bench:detection`: the evasion benchmark. Plays a catalogue of evasion strategies (each a
// labelled run past 10^26 operations on controlled Tier 1 hardware) and an honest population (job
// shapes from the Alibaba trace) through the real ingest, in process, on fresh topics and a fresh key
// prefix; KYC goes through the store's registry (entity resolution applies). Prints, per strategy,
// whether it was caught, by which rule, at what fraction of 10^26 and how many days before the
// crossing, and the honest population's case rate by rule, as markdown (docs/detection.md).
// Options: --days N (timeline, default 180) --honest N (tenants, default 300) --step-hours N (default 24)
// --report-hours N (length of each report, default 6: the pack's limits.maxIntervalSeconds is raised to it)
// --strategies a,b,… (default all) --keep (keep the run's keys and topics).
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createKafkaClient, createProducer, deleteTopics } from '@flopwatch/kafka';
import { ensureInfra } from '@flopwatch/local';
import { DEFAULT_POLICY_PATH, loadPolicyPack } from '@flopwatch/policy';
import { createStore, purgePrefix } from '@flopwatch/store';
import { behaviourDefaults, startInProcessIngest } from '@flopwatch/ingest/in-process';
import { benchPack, buildHonest, buildStrategies, formatDetectionTables, HOUR_MS, readPodList, requirePodList, runDetectionBench, storeRegistrar, STRATEGY_IDS, type StrategyId } from '@flopwatch/simulator';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '180' },
    honest: { type: 'string', default: '300' },
    'step-hours': { type: 'string', default: '24' },
    'report-hours': { type: 'string', default: '6' },
    strategies: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const say = (line: string) => console.log(`[bench] ${line}`);
const days = Number(args.days);
const ids = (args.strategies?.split(',').map((s) => s.trim()) ?? [...STRATEGY_IDS]) as StrategyId[];
for (const id of ids) if (!STRATEGY_IDS.includes(id)) throw new Error(`unknown strategy ${id}; known: ${STRATEGY_IDS.join(', ')}`);

const run = `detbench-${Date.now().toString(36)}`;
const prefix = `${run}:`;
const topics = { telemetry: `${run}.telemetry`, dlq: `${run}.dlq`, partitions: 6 };
const infra = await ensureInfra(process.env, say);
const log = pino({ level: 'warn' });
const redis = new Redis(infra.redisUrl, { enableAutoPipelining: true });
const reportHours = Number(args['report-hours']);
const pack = benchPack(loadPolicyPack(DEFAULT_POLICY_PATH), reportHours);
// As the ingest's main does, with a slice held while it reported within the last report's length.
const store = createStore({
  redis, prefix, activeWindowMs: reportHours * HOUR_MS, maxLatenessMs: pack.limits.maxLatenessDays * 86_400_000,
  maxAgeMs: pack.limits.maxAgeDays * 86_400_000, maxIntervalMs: pack.limits.maxIntervalSeconds * 1000,
});
const admin = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: `${run}-admin`, logger: log });
// The ingest creates its topics (the dead-letter topic sized for its sources).
// The behavioural-link analysis at the ingest's default settings, every 2 s of wall time (the bench compresses event time).
const ingest = await startInProcessIngest({ brokers: infra.kafkaBrokers, store, pack, log, topics, groupId: `${run}-ingest`, behaviour: behaviourDefaults(2_000) });
const producer = createProducer(ingest.kafka, { idempotent: true, log });

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${cpu}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, policy pack ${pack.version}`;
say(`machine: ${machine}`);
try {
  // Whole hours, ending an hour ago: no report lies in the future.
  const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - HOUR_MS;
  const strategies = buildStrategies(ids, endMs, days);
  const honest = buildHonest(readPodList(requirePodList()), Number(args.honest), endMs, days);
  say(`${strategies.length} strategies (${ids.join(', ')}), ${honest.length} honest tenants, ${days} days of event time in steps of ${args['step-hours']} h, reports of ${reportHours} h`);
  const out = await runDetectionBench({
    store, registrar: storeRegistrar(store), producer, topic: topics.telemetry, pack, strategies, honest,
    drained: () => ingest.drained({ timeoutMs: 600_000 }),
    stepMs: Number(args['step-hours']) * HOUR_MS,
    onProgress: say,
  });
  say(`done: ${out.events.toLocaleString('en-US')} reports in ${out.seconds.toFixed(0)} s (${Math.round(out.events / out.seconds).toLocaleString('en-US')} reports/s, alerts dated to ${out.stepDays} day steps)`);
  console.log(`\n${new Date().toISOString().slice(0, 10)}, ${machine}; ${out.spanDays.toFixed(0)} days of event time, ${out.events.toLocaleString('en-US')} reports of ${reportHours} h, alerts dated to ${out.stepDays}-day steps, ${out.seconds.toFixed(0)} s.\n`);
  console.log(formatDetectionTables(out));
  const caught = out.strategies.filter((s) => s.caught).length;
  const honestCases = Object.values(out.honest.cases).reduce((n, c) => n + c.actionable, 0);
  console.log(`\nSummary: ${caught} of ${out.strategies.length} strategies caught before 10^26; honest population ${((honestCases * 1000) / out.honest.tenants).toFixed(1)} actionable cases per 1,000 tenants over ${out.honest.days.toFixed(0)} days.`);
} finally {
  await producer.close();
  await ingest.close();
  if (args.keep) say(`kept Redis prefix ${prefix} and topics ${run}.*`);
  else {
    await purgePrefix(redis, prefix);
    await deleteTopics(admin, [topics.telemetry, topics.dlq]).catch(() => []);
  }
  await admin.close();
  redis.disconnect();
}
