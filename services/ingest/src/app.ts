import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { SlurmMapping } from '@flopwatch/contracts';
import { consumerLag, createBatchConsumer, createProducer, ensureDeadLetterTopic, ensureTopics, type BatchConsumer, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import type { Store } from '@flopwatch/store';
import { readExposure } from './exposure.js';
import { createIngestMetrics, createScrapeMetrics } from './metrics.js';
import { createPipeline } from './pipeline.js';
import { createRegistryView } from './registry-view.js';
import { startReevaluation, type Reevaluation } from './reevaluate.js';
import { startBehaviourAnalysis, type BehaviourLoop, type BehaviourOptions } from './behaviour.js';

export interface IngestTopics {
  telemetry: string;
  /** Slurm jobcomp/kafka records; null to not consume one. */
  slurm: string | null;
  dlq: string;
  /** Partitions of topics the ingest creates when they are missing. */
  partitions: number;
}

export interface IngestDeps {
  kafka: KafkaClient;
  store: Store;
  pack: PolicyPack;
  slurm: SlurmMapping | null;
  metricsRegistry: Registry;
  log: Logger;
  topics: IngestTopics;
  groupId: string;
  maxMessageBytes: number;
  partitionConcurrency?: number;
  /** Fetch sizes (FETCH_MAX_BYTES_PER_PARTITION, FETCH_MAX_BYTES). */
  fetch?: { maxBytesPerPartition: number; maxBytes: number };
  /** Fetch a partition's next batch while its last one is applied (see BatchConsumerOptions.fetchAhead); default false. */
  fetchAhead?: boolean;
  /** With fetchAhead: most bytes applied in the background at once (default 2 × fetch.maxBytes). */
  fetchAheadBytes?: number;
  /** How often the registry change stream is polled for re-evaluation (ms). Default 1000. */
  registryPollMs?: number;
  /** A pending alert evaluation is retried once it has waited this long (ms). Default 30 s. */
  pendingEvaluationMinAgeMs?: number;
  sessionTimeoutMs?: number;
  /** Per-subject series on /metrics (METRICS_SUBJECTS); default true. */
  metricsSubjects?: boolean;
  /** Behavioural-link analysis (behaviour.ts) every `intervalMs`; absent or 0: not run by this instance. */
  behaviour?: BehaviourOptions & { intervalMs: number };
  now?: () => Date;
}

export interface Ingest {
  /** Creates missing topics, joins the consumer group and starts consuming. */
  start(): Promise<void>;
  /** Ready: consuming, and the last Redis step succeeded. */
  readiness(): { ready: boolean; checks: Record<string, unknown> };
  /** Finishes the batch in flight, commits, leaves the group; idempotent. */
  close(): Promise<void>;
}

/** The ingest: a consumer-group member that counts usage exactly once and raises alerts. */
export function createIngest(deps: IngestDeps): Ingest {
  const log = deps.log.child({ component: 'ingest' });
  const metrics = createIngestMetrics(deps.metricsRegistry);
  let redisHealthy = true;
  let producer: KafkaProducer | undefined;
  let consumer: BatchConsumer | undefined;
  let reevaluation: Reevaluation | undefined;
  let behaviour: BehaviourLoop | undefined;
  let closing: Promise<void> | undefined;

  const topics = [deps.topics.telemetry, ...(deps.topics.slurm ? [deps.topics.slurm] : [])];
  createScrapeMetrics(deps.metricsRegistry, {
    lag: () => consumerLag(deps.kafka, deps.groupId, topics),
    exposure: () => readExposure({ store: deps.store, pack: deps.pack }),
    levels: deps.pack.levels.map((l) => l.fraction),
    subjects: deps.metricsSubjects ?? true,
  });

  return {
    async start() {
      await ensureTopics(deps.kafka, topics.map((topic) => ({ topic, partitions: deps.topics.partitions })));
      // The DLQ takes any message its sources take, with the ingest's headers (a smaller existing one is
      // logged; dead letters too large for it go as truncated copies).
      await ensureDeadLetterTopic(deps.kafka, { topic: deps.topics.dlq, partitions: deps.topics.partitions, sources: topics });
      producer = createProducer(deps.kafka, { idempotent: true, log });
      await producer.connect();
      const view = createRegistryView(deps.store);
      const handleBatch = createPipeline({
        store: deps.store,
        view,
        producer,
        pack: deps.pack,
        slurm: deps.slurm,
        metrics,
        log,
        dlqTopic: deps.topics.dlq,
        maxMessageBytes: deps.maxMessageBytes,
        kindOf: (topic) => (topic === deps.topics.slurm ? 'slurm' : 'telemetry'),
        onRedisHealth: (healthy) => (redisHealthy = healthy),
        ...(deps.now ? { now: deps.now } : {}),
      });
      consumer = createBatchConsumer(deps.kafka, {
        groupId: deps.groupId,
        topics,
        fromBeginning: true,
        concurrency: deps.partitionConcurrency ?? 12,
        ...(deps.fetch ?? {}),
        fetchAhead: deps.fetchAhead ?? false,
        ...(deps.fetchAheadBytes ? { fetchAheadBytes: deps.fetchAheadBytes } : {}),
        sessionTimeoutMs: deps.sessionTimeoutMs ?? 30_000,
        // Kafka's guidance: heartbeat at most a third of the session timeout.
        heartbeatIntervalMs: Math.min(3_000, Math.floor((deps.sessionTimeoutMs ?? 30_000) / 3)),
        log,
        onBatch: handleBatch,
      });
      consumer.on('assigned', ({ rebalances }) => {
        if (rebalances > 0) metrics.rebalances.inc();
      });
      await consumer.start();
      reevaluation = startReevaluation({
        store: deps.store,
        view,
        pack: deps.pack,
        log,
        metrics,
        group: deps.groupId,
        consumer: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        ...(deps.registryPollMs ? { pollMs: deps.registryPollMs } : {}),
        ...(deps.pendingEvaluationMinAgeMs !== undefined ? { pendingMinAgeMs: deps.pendingEvaluationMinAgeMs } : {}),
        ...(deps.now ? { now: deps.now } : {}),
      });
      if (deps.behaviour && deps.behaviour.intervalMs > 0) {
        behaviour = startBehaviourAnalysis({ store: deps.store, pack: deps.pack, view, log, now: deps.now ?? (() => new Date()) }, deps.behaviour);
      }
      log.info({ topics, groupId: deps.groupId, dlq: deps.topics.dlq, policyVersion: deps.pack.version }, 'ingest ready: consuming telemetry');
    },

    readiness() {
      const consuming = consumer?.stats().state === 'running';
      return { ready: consuming && redisHealthy, checks: { consumer: consumer?.stats().state ?? 'idle', redis: redisHealthy ? 'ok' : 'failing' } };
    },

    close() {
      closing ??= (async () => {
        await behaviour?.close();
        await reevaluation?.close();
        await consumer?.close();
        await producer?.close();
        log.info('ingest stopped');
      })();
      return closing;
    },
  };
}

export { DLQ_HEADERS } from './pipeline.js';
export { ingestConfigSchema, type IngestConfig } from './config.js';
