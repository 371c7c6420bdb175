// Composition root of the ingest: config → logger → clients → createIngest → start; close on signal.
import { setFlagsFromString } from 'node:v8';
import { createKafkaClient, verifyKafkaConnection } from '@flopwatch/kafka';
import { loadPolicyPack } from '@flopwatch/policy';
import { kafkaSecurity, redisSecurity, createLogger, createMetricsRegistry, createShutdown, exitOnConfigError, installCrashHandlers, installSignalHandlers, loadConfig, redactConfig, reportStartupFailure, startOpsServer } from '@flopwatch/runtime';
import { connectRedis, createStore, verifyRedisConnection } from '@flopwatch/store';
import { createIngest } from './app.js';
import { ingestConfigSchema } from './config.js';
import { loadSlurmMapping } from './slurm-mapping.js';

const config = exitOnConfigError(() => loadConfig(ingestConfigSchema, process.env));
// Before the heap grows: V8 reads the factor at every full collection.
if (config.HEAP_GROWING_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWING_PERCENT}`);
const security = exitOnConfigError(() => ({ kafka: kafkaSecurity(config), redis: redisSecurity(config) }));
const log = createLogger({ service: 'ingest', level: config.LOG_LEVEL });
const shutdown = createShutdown({ log, timeoutMs: 30_000 });
installSignalHandlers(shutdown, { log });
installCrashHandlers(shutdown, { log });

try {
  const pack = loadPolicyPack(config.POLICY_FILE);
  const slurm = config.SLURM_TOPIC && config.SLURM_MAPPING_FILE ? loadSlurmMapping(config.SLURM_MAPPING_FILE) : null;
  if (config.SLURM_TOPIC && !slurm) log.warn({ topic: config.SLURM_TOPIC }, 'no SLURM_MAPPING_FILE: Slurm records will be dead-lettered as unmapped');
  log.info({ config: redactConfig(config), policyVersion: pack.version }, 'starting');

  const redis = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, name: 'flopwatch-ingest', security: security.redis });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  shutdown.add('redis', () => redis.quit());
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger: log, security: security.kafka });
  shutdown.add('kafka', () => kafka.close());
  // Wrong credentials or TLS settings stop the service here, with one message naming the connection.
  if (!(await verifyRedisConnection(redis, config.REDIS_URL))) log.warn('redis not reachable yet; it will be retried');
  const kafkaCheck = await verifyKafkaConnection(kafka);
  if (!kafkaCheck.ok) log.warn({ reason: kafkaCheck.transient }, 'kafka not reachable yet; it will be retried');
  const metricsRegistry = createMetricsRegistry({ service: 'ingest' });
  const ingest = createIngest({
    kafka,
    store: createStore({
      redis,
      prefix: config.REDIS_PREFIX,
      activeWindowMs: config.ACTIVE_WINDOW,
      maxLatenessMs: pack.limits.maxLatenessDays * 86_400_000,
      maxAgeMs: pack.limits.maxAgeDays * 86_400_000,
      maxIntervalMs: pack.limits.maxIntervalSeconds * 1000,
    }),
    pack,
    slurm,
    metricsRegistry,
    log,
    topics: { telemetry: config.TELEMETRY_TOPIC, slurm: config.SLURM_TOPIC || null, dlq: config.DLQ_TOPIC, partitions: config.TOPIC_PARTITIONS },
    groupId: config.INGEST_GROUP_ID,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    partitionConcurrency: config.PARTITION_CONCURRENCY,
    fetch: { maxBytesPerPartition: config.FETCH_MAX_BYTES_PER_PARTITION, maxBytes: config.FETCH_MAX_BYTES },
    fetchAhead: config.FETCH_AHEAD,
    ...(config.FETCH_AHEAD_BYTES > 0 ? { fetchAheadBytes: config.FETCH_AHEAD_BYTES } : {}),
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT,
    metricsSubjects: config.METRICS_SUBJECTS,
    behaviour: {
      intervalMs: config.BEHAVIOUR_INTERVAL,
      windowMinutes: config.BEHAVIOUR_WINDOW_MINUTES,
      minMatches: config.BEHAVIOUR_MIN_MATCHES,
      maxPValue: config.BEHAVIOUR_MAX_P_VALUE,
      minHandoffs: config.BEHAVIOUR_MIN_HANDOFFS,
      lookbackDays: config.BEHAVIOUR_LOOKBACK_DAYS,
      suspectedMaxSeverity: config.BEHAVIOUR_SUSPECTED_MAX_SEVERITY,
    },
  });
  const ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, registry: metricsRegistry, isReady: () => ingest.readiness(), log });
  shutdown.add('ops-server', () => ops.close());
  shutdown.add('ingest', () => ingest.close());
  await ingest.start();
} catch (err) {
  reportStartupFailure(log, 'ingest', err);
  await shutdown.run('start-up failed');
  process.exit(1);
}
