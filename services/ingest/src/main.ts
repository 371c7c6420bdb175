// Composition root of the ingest: config → logger → clients → createIngest → start; close on signal.
import { setFlagsFromString } from 'node:v8';
import { kafkaDriver } from '@flopwatch/kafka';
import { loadPolicyPack } from '@flopwatch/policy';
import { connectInfra, createMetricsRegistry, redactConfig, startOpsServer, startService } from '@flopwatch/runtime';
import { createStore, redisDriver } from '@flopwatch/store';
import { createIngest } from './app.js';
import { ingestConfigSchema } from './config.js';
import { loadSlurmMapping } from './slurm-mapping.js';

const service = startService({ name: 'ingest', schema: ingestConfigSchema, env: process.env });
const { config, log, shutdown } = service;
// Before the heap grows: V8 reads the factor at every full collection.
if (config.HEAP_GROWING_PERCENT > 0) setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWING_PERCENT}`);

await service.run(async () => {
  const pack = loadPolicyPack(config.POLICY_FILE);
  const slurm = config.SLURM_TOPIC && config.SLURM_MAPPING_FILE ? loadSlurmMapping(config.SLURM_MAPPING_FILE) : null;
  if (config.SLURM_TOPIC && !slurm) log.warn({ topic: config.SLURM_TOPIC }, 'no SLURM_MAPPING_FILE: Slurm records will be dead-lettered as unmapped');
  log.info({ config: redactConfig(config), policyVersion: pack.version }, 'starting');

  const { redis, kafka } = await connectInfra(service, { redis: redisDriver, kafka: kafkaDriver });
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
});
