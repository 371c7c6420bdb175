// `pnpm statement:reproduce <statement.json> [--topic <telemetry topic>] [--keep]`
// Recomputes a compute statement's figures from the telemetry topic: reads the topic from its log
// start up to the end offsets the statement recorded (or the current end when it recorded none), runs
// every message through the ingest's own pipeline (decode, validate, estimate, the accounting script)
// into a scratch Redis prefix, computes the figures with the code the API issued them with, prints
// every difference, and drops the scratch prefix. Exit 0: every figure reproduced; 1: differences (or
// the topic could not be read to the recorded offsets); 2: usage. Reads KAFKA_BROKERS, REDIS_URL,
// POLICY_FILE, MAX_MESSAGE_BYTES and the Kafka/Redis TLS and SASL settings like the ingest. docs/statements.md.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createKafkaClient, readTopicRange, verifyKafkaConnection, type ConsumedBatch, type KafkaProducer, type OutgoingMessage } from '@flopwatch/kafka';
import { loadPolicyPack } from '@flopwatch/policy';
import { connectRedis, createStore, purgePrefix } from '@flopwatch/store';
import { createLogger, createMetricsRegistry, exitOnConfigError, kafkaSecurity, kafkaSecurityEnv, loadConfig, redisSecurity, redisSecurityEnv } from '../packages/runtime/src/index.js';
import { ingestConfigSchema } from '../services/ingest/src/config.js';
import { createIngestMetrics } from '../services/ingest/src/metrics.js';
import { createPipeline, DLQ_HEADERS } from '../services/ingest/src/pipeline.js';
import { createRegistryView } from '../services/ingest/src/registry-view.js';
import { dayIndex, readFigures, type SubjectKind } from '../services/api/src/statements/figures.js';

const USAGE = 'usage: pnpm statement:reproduce <statement.json> [--topic <telemetry topic>] [--keep]';

function usageError(message: string): never {
  console.error(`statement:reproduce: ${message}\n${USAGE}`);
  process.exit(2);
}

let parsed: { values: { topic?: string; keep: boolean; help: boolean }; positionals: string[] };
try {
  parsed = parseArgs({ options: { topic: { type: 'string' }, keep: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } }, allowPositionals: true });
} catch (err) {
  usageError((err as Error).message);
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const [file] = parsed.positionals;
if (!file || parsed.positionals.length > 1) usageError('name one statement file');

interface StatementView {
  id: string;
  subject: { kind: SubjectKind; id: string; tenants: string[] };
  period: { from: string; to: string };
  policyVersion: string;
  books: { eventClock: string | null; latestUsageAt: string | null };
  telemetry: { topic: string; partitions: { partition: number; end: string; committed: string | null }[] } | null;
  figures: unknown;
}
let statement: StatementView;
try {
  statement = (JSON.parse(readFileSync(file, 'utf8')) as { statement: StatementView }).statement;
  if (!statement?.subject || !statement.period || !statement.figures) throw new Error('no statement.subject, .period or .figures');
} catch (err) {
  usageError(`${file} is not a statement: ${(err as Error).message}`);
}

const configSchema = ingestConfigSchema
  .pick({ KAFKA_BROKERS: true, TELEMETRY_TOPIC: true, REDIS_URL: true, REDIS_CLUSTER: true, POLICY_FILE: true, MAX_MESSAGE_BYTES: true })
  .extend({ ...kafkaSecurityEnv, ...redisSecurityEnv, LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn') });
const config = exitOnConfigError(() => loadConfig(configSchema, process.env));
const security = exitOnConfigError(() => ({ kafka: kafkaSecurity(config), redis: redisSecurity(config) }));
const log = createLogger({ service: 'statement-reproduce', level: config.LOG_LEVEL });
const pack = loadPolicyPack(config.POLICY_FILE);
const topic = parsed.values.topic ?? statement.telemetry?.topic ?? config.TELEMETRY_TOPIC;
const ends = new Map((statement.telemetry?.partitions ?? []).map((p) => [p.partition, BigInt(p.end)]));
const prefix = `fw-reproduce-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}:`;

console.log(`statement:reproduce: ${statement.id} (${statement.subject.kind} ${statement.subject.id}, ${statement.period.from}..${statement.period.to})`);
console.log(`reading ${topic} from its log start ${ends.size > 0 ? 'to the end offsets the statement recorded' : 'to its current end (the statement recorded no offsets)'}; scratch prefix ${prefix}`);
if (pack.version !== statement.policyVersion) console.log(`note: the policy pack here is ${pack.version}, the statement was issued under ${statement.policyVersion}; estimates follow the pack`);
const lagging = (statement.telemetry?.partitions ?? []).filter((p) => (p.committed === null ? p.end !== '0' : BigInt(p.committed) < BigInt(p.end)));
if (lagging.length > 0) console.log(`note: when the statement was issued the ingest had not committed partitions ${lagging.map((p) => p.partition).join(', ')} to their end: the books may have counted less than the topic held`);

const redis = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, name: 'flopwatch-statement-reproduce', security: security.redis });
redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'flopwatch-statement-reproduce', logger: log, security: security.kafka });
const store = createStore({
  redis, prefix,
  maxLatenessMs: pack.limits.maxLatenessDays * 86_400_000,
  maxAgeMs: pack.limits.maxAgeDays * 86_400_000,
  maxIntervalMs: pack.limits.maxIntervalSeconds * 1000,
});

// Dead letters stay here: the reproduction writes nothing to Kafka. They are counted by reason.
const refused = new Map<string, number>();
const deadLetters: KafkaProducer = {
  connect: async () => {},
  close: async () => {},
  tooLarge: async () => ({ limit: Number.MAX_SAFE_INTEGER, records: [] }),
  send: async (_topic: string, messages: OutgoingMessage[]) => {
    for (const m of messages) {
      const reason = String(m.headers?.[DLQ_HEADERS.reason] ?? 'unknown');
      refused.set(reason, (refused.get(reason) ?? 0) + 1);
    }
    return [];
  },
};
const handleBatch = createPipeline({
  store, view: createRegistryView(store), producer: deadLetters, pack, slurm: null,
  metrics: createIngestMetrics(createMetricsRegistry({ service: 'statement-reproduce', collectDefault: false })), log, dlqTopic: 'statement-reproduce', maxMessageBytes: config.MAX_MESSAGE_BYTES,
  kindOf: () => 'telemetry',
});

/** Leaf paths of a JSON value: "figures.cumulative.byTier.1" → value. */
function leaves(value: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !(Array.isArray(value) && value.length === 0)) {
    if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
    else for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  } else out.set(path, value);
  return out;
}

let exitCode = 0;
let applied = 0;
try {
  const check = await verifyKafkaConnection(kafka);
  if (!check.ok) log.warn({ reason: check.transient }, 'kafka not reachable yet; the read retries');
  const abort = new AbortController();
  const range = await readTopicRange(kafka, {
    topic,
    log,
    async onMessages(partition, messages) {
      const end = ends.get(partition);
      const wanted = end === undefined && ends.size > 0 ? [] : messages.filter((m) => end === undefined || BigInt(m.offset) < end);
      if (wanted.length === 0) return;
      applied += wanted.length;
      const batch: ConsumedBatch = {
        topic, partition, messages: wanted, highWatermark: String(end ?? BigInt(wanted.at(-1)!.offset) + 1n), firstOffset: wanted[0]!.offset,
        heartbeat: async () => {}, isStale: () => false, signal: abort.signal,
      };
      await handleBatch(batch);
    },
  });
  const short = [...ends].filter(([p, end]) => {
    const r = range.ranges.find((x) => x.partition === p);
    return !r || BigInt(r.to) < end;
  });
  if (range.incomplete.length > 0 || short.length > 0) {
    console.log(`the topic could not be read to the recorded offsets (partitions ${[...range.incomplete.map((r) => r.partition), ...short.map(([p]) => p)].join(', ')}): retention may have deleted messages, or this is another topic`);
    exitCode = 1;
  }
  console.log(`read ${applied} messages${refused.size > 0 ? `; dead-lettered in the reproduction: ${[...refused].map(([r, n]) => `${r} ${n}`).join(', ')}` : ''}`);

  const period = { fromDay: dayIndex(statement.period.from), toDay: dayIndex(statement.period.to) };
  const again = await readFigures(store.statementBooks, statement.subject, period);
  const expected = leaves({ figures: statement.figures, subject: { tenants: statement.subject.tenants }, books: { latestUsageAt: statement.books.latestUsageAt } }, '', new Map());
  const actual = leaves({ figures: again.figures, subject: { tenants: again.tenants }, books: { latestUsageAt: again.latestEndMs === null ? null : new Date(again.latestEndMs).toISOString() } }, '', new Map());
  const differences = [...new Set([...expected.keys(), ...actual.keys()])].sort().filter((k) => JSON.stringify(expected.get(k)) !== JSON.stringify(actual.get(k)));
  for (const k of differences) console.log(`DIFFERENT ${k}: statement ${JSON.stringify(expected.get(k)) ?? '(absent)'}, reproduced ${JSON.stringify(actual.get(k)) ?? '(absent)'}`);
  const clock = await store.books.eventClock();
  console.log(`books' event clock: statement ${statement.books.eventClock ?? 'none'}, reproduction ${clock === null ? 'none' : new Date(clock).toISOString()} (the clock of everything the topic held, shown, not compared)`);
  if (differences.length > 0) exitCode = 1;
  console.log(differences.length === 0 ? `reproduced: all ${expected.size} figures equal` : `${differences.length} of ${expected.size} figures differ`);
} catch (err) {
  const e = err as { code?: string; message?: string; retryable?: boolean };
  console.error(`statement:reproduce failed: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}${e.retryable ? ' (transient: run it again)' : ''}`);
  exitCode = 1;
} finally {
  if (parsed.values.keep) console.log(`scratch prefix kept: ${prefix}`);
  else await purgePrefix(redis, prefix);
  await kafka.close();
  redis.disconnect();
}
process.exit(exitCode);
