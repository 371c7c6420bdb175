// `pnpm dlq:replay --reason unknown_accelerator[,other] [--since <RFC3339|7d>] [--until <RFC3339|1h>] [--dry-run]`
// Re-publishes dead letters of the chosen reasons to their source topics (see services/ingest/src/dlq-replay.ts).
// Reads KAFKA_BROKERS, DLQ_TOPIC and the Kafka TLS/SASL settings (KAFKA_TLS*, KAFKA_SASL_*) like the
// ingest (defaults: 127.0.0.1:9092, gpu.telemetry.dlq.v1, plaintext without SASL).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createKafkaClient, verifyKafkaConnection } from '@flopwatch/kafka';
import { createLogger, exitOnConfigError, kafkaSecurity, kafkaSecurityEnv, loadConfig } from '../packages/runtime/src/index.js';
import { ingestConfigSchema } from '../services/ingest/src/config.js';
import { DlqReplayError, parseReasons, parseTime, replayDeadLetters, type DlqReplaySummary } from '../services/ingest/src/dlq-replay.js';

const USAGE = 'usage: pnpm dlq:replay --reason <reason>[,<reason>…] [--since <RFC3339 | 7d>] [--until <RFC3339 | 1h>] [--dry-run] [--topic <dlq topic>]';

function usageError(message: string): never {
  console.error(`dlq:replay: ${message}\n${USAGE}`);
  process.exit(2);
}

let args: { reason?: string; since?: string; until?: string; topic?: string; 'dry-run': boolean; help: boolean };
try {
  args = parseArgs({
    options: {
      reason: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      topic: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }).values;
} catch (err) {
  usageError((err as Error).message);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const configSchema = ingestConfigSchema
  .pick({ KAFKA_BROKERS: true, DLQ_TOPIC: true })
  .extend({ ...kafkaSecurityEnv, LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn') });
const config = exitOnConfigError(() => loadConfig(configSchema, process.env));
const security = exitOnConfigError(() => kafkaSecurity(config));
const now = Date.now();
let reasons;
let since: number | undefined;
let until: number | undefined;
try {
  reasons = parseReasons(args.reason);
  since = args.since === undefined ? undefined : parseTime(args.since, now, '--since');
  until = args.until === undefined ? undefined : parseTime(args.until, now, '--until');
  if (since !== undefined && until !== undefined && until <= since) throw new DlqReplayError('DLQ_REPLAY_USAGE', '--until must be after --since');
} catch (err) {
  if (err instanceof DlqReplayError) usageError(err.message);
  throw err;
}

const dlqTopic = args.topic ?? config.DLQ_TOPIC;
const log = createLogger({ service: 'dlq-replay', level: config.LOG_LEVEL });
const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: 'flopwatch-dlq-replay', logger: log, security });
const window = `${since === undefined ? 'the start' : new Date(since).toISOString()} to ${until === undefined ? 'the end' : new Date(until).toISOString()}`;
console.log(`dlq:replay: ${dlqTopic} on ${config.KAFKA_BROKERS.join(',')}, reasons ${reasons.join(', ')}, dead-lettered from ${window}${args['dry-run'] ? ' (dry run: nothing is published)' : ''}`);

let lastPrint = 0;
let exitCode = 0;
try {
  // Wrong credentials or TLS settings end the run here with one line naming the connection.
  const check = await verifyKafkaConnection(kafka);
  if (!check.ok) log.warn({ reason: check.transient }, 'kafka not reachable yet; the read retries');
  const summary = await replayDeadLetters({
    kafka,
    dlqTopic,
    reasons,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    dryRun: args['dry-run'],
    log,
    onProgress: (p) => {
      if (Date.now() - lastPrint < 1000 && p.read < p.total) return;
      lastPrint = Date.now();
      const pct = p.total === 0 ? 100 : (100 * p.read) / p.total;
      console.log(`read ${p.read.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} (${pct.toFixed(1)} %), selected ${p.selected.toLocaleString('en-US')}, re-published ${p.republished.toLocaleString('en-US')}`);
    },
  });
  printSummary(summary);
  if (summary.incompletePartitions.length > 0 || summary.unroutable > 0) exitCode = 1;
} catch (err) {
  const e = err as { code?: string; message?: string; retryable?: boolean };
  console.error(`dlq:replay failed: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}${e.retryable ? ' (transient: run it again)' : ''}`);
  console.error('Messages re-published before the failure stay published; running the replay again is safe (the ingest counts covered time once).');
  exitCode = 1;
} finally {
  await kafka.close();
}
process.exit(exitCode);

function printSummary(s: DlqReplaySummary): void {
  console.log(`\nscanned ${s.scanned}, selected ${s.selected}, ${s.dryRun ? 'would re-publish' : 're-published'} ${s.dryRun ? s.selected - s.unroutable : s.republished}`);
  const rows = Object.entries(s.bySource).flatMap(([topic, byReason]) => Object.entries(byReason).map(([reason, n]) => ({ topic, reason, n: n ?? 0 })));
  if (rows.length > 0) {
    console.log('source topic'.padEnd(32), 'reason'.padEnd(22), 'messages');
    for (const r of rows) console.log(r.topic.padEnd(32), r.reason.padEnd(22), String(r.n));
  }
  if (s.copies > 0) console.log(`${s.copies} dead letters of an earlier replay were skipped: their originals, also in this range, were replayed instead`);
  if (s.unroutable > 0) console.log(`${s.unroutable} selected dead letters have no source-topic header or no value and were left in the DLQ (see the log)`);
  if (s.incompletePartitions.length > 0) console.log(`DLQ partitions not read to their end: ${s.incompletePartitions.join(', ')}; run again`);
}
