import { z } from 'zod';
import { SEVERITIES } from '@flopwatch/contracts';
import { DEFAULT_POLICY_PATH } from '@flopwatch/policy';
import { envBoolean, envDuration, envInt, envList, kafkaSecurityEnv, redisSecurityEnv } from '@flopwatch/runtime';

/** The ingest's configuration, from environment variables; every default works with the local stack. */
export const ingestConfigSchema = z.object({
  /** Kafka bootstrap brokers, comma-separated. */
  KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
  /** Kafka client id, shown in broker logs and quotas. */
  KAFKA_CLIENT_ID: z.string().min(1).default('flopwatch-ingest'),
  ...kafkaSecurityEnv,
  /** Consumer group; every ingest instance of one deployment shares it. */
  INGEST_GROUP_ID: z.string().min(1).default('flopwatch-ingest'),
  /** Topic of CloudEvents usage events (key = tenant id). */
  TELEMETRY_TOPIC: z.string().min(1).default('gpu.telemetry.v1'),
  /** Topic of Slurm jobcomp/kafka job records; empty to not consume one. */
  SLURM_TOPIC: z.string().default('slurm.jobcomp.v1'),
  /** Dead-letter topic: invalid inputs, original bytes, reason in headers. */
  DLQ_TOPIC: z.string().min(1).default('gpu.telemetry.dlq.v1'),
  /** Partitions given to topics the ingest creates (ingest replicas beyond this sit idle). */
  TOPIC_PARTITIONS: envInt({ min: 1, max: 10_000, default: 12 }),
  /**
   * How long the group waits for a silent member before reassigning its partitions: after a crash,
   * its partitions stall this long. The broker allows 6 s to 5 min by default.
   */
  KAFKA_SESSION_TIMEOUT: envDuration({ min: 1_000, max: 30 * 60_000, default: 30_000 }),
  /** Partitions of one instance processed at once (the benchmark measured 12, one per default partition). */
  PARTITION_CONCURRENCY: envInt({ min: 1, max: 64, default: 12 }),
  /**
   * Most bytes of one partition per fetch: a batch. Larger batches fold more of a tenant's reports
   * into one accounting call (the script's fixed cost is paid per tenant per call), at the price of
   * memory and latency under backlog; at steady low rates batches are small whatever this says.
   */
  FETCH_MAX_BYTES_PER_PARTITION: envInt({ min: 1024, max: 64 * 1024 * 1024, default: 24 * 1024 * 1024 }),
  /**
   * Most bytes of one fetch response over all partitions: bounds what one fetch holds in memory. Under
   * a backlog up to three fetches are in memory at once (a fetch's buffer is freed only when a full
   * garbage collection finds its messages dead), so the peak is about 3 × this plus ~160 MiB.
   */
  FETCH_MAX_BYTES: envInt({ min: 1024, max: 256 * 1024 * 1024, default: 24 * 1024 * 1024 }),
  /**
   * Fetch a partition's next batch while its last one is still being applied in Redis (offsets are
   * still committed only once applied; docs/accounting.md). Under a backlog the benchmark measured
   * about 20 % more events per second for about 140 MiB more peak memory, so it is off by default
   * (docs/benchmarks.md, Tuning).
   */
  FETCH_AHEAD: envBoolean(false),
  /**
   * With FETCH_AHEAD: most bytes of messages applied in the background at once; further batches wait.
   * Default (0): twice FETCH_MAX_BYTES. Smaller budgets measured no gain over FETCH_AHEAD=false.
   */
  FETCH_AHEAD_BYTES: envInt({ min: 0, max: 1024 * 1024 * 1024, default: 0 }),
  /**
   * How far V8 lets the JavaScript heap grow past what survived the last full collection, in percent
   * (V8's `--heap-growing-percent`), set when the ingest starts; 0 leaves V8's own factor (up to
   * 300 %). In the benchmark's backlog, 50 peaked at 236 MiB instead of 355 for about 15 % fewer
   * events per second (docs/benchmarks.md, Tuning).
   */
  HEAP_GROWING_PERCENT: envInt({ min: 0, max: 1000, default: 50 }),
  /** Redis URL, or comma-separated seed nodes with REDIS_CLUSTER=true. */
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Treat REDIS_URL as Redis Cluster seed nodes. */
  REDIS_CLUSTER: envBoolean(false),
  /** Prefix of every key; separates deployments sharing one Redis. */
  REDIS_PREFIX: z.string().default('fw:'),
  ...redisSecurityEnv,
  /** The policy pack (YAML); the ingest refuses to start on an invalid one. */
  POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_PATH),
  /** YAML mapping Slurm partitions to accelerators and clusters to countries; needed for SLURM_TOPIC. */
  SLURM_MAPPING_FILE: z.string().optional(),
  /** Larger messages go to the DLQ as too_large. */
  MAX_MESSAGE_BYTES: envInt({ min: 1024, max: 16 * 1024 * 1024, default: 1024 * 1024 }),
  /** A job silent this long stops counting toward the H100-equivalents its tenant holds. */
  ACTIVE_WINDOW: envDuration({ min: 60_000, default: 15 * 60_000 }),
  /**
   * Per-subject series on /metrics (`flopwatch_subject_threshold_ratio`, `…_projected_crossing_timestamp_seconds`):
   * subject ids with their threshold ratios are investigation data. The dashboards' subject panels need
   * them; turn them off where the ops port is reachable by more than Prometheus.
   */
  METRICS_SUBJECTS: envBoolean(true),
  /**
   * How often this instance analyses behavioural links (co-scheduled jobs, checkpoint hand-offs) and
   * evaluates the suspected groups (docs/detection.md); 0 turns it off on this instance.
   */
  BEHAVIOUR_INTERVAL: envDuration({ min: 0, default: 10 * 60_000 }),
  /** Two jobs of two tenants match when their starts and their ends are each at most this many minutes apart. */
  BEHAVIOUR_WINDOW_MINUTES: envInt({ min: 0, max: 60, default: 2 }),
  /** Fewest matched job pairs for a co-scheduling suspicion. */
  BEHAVIOUR_MIN_MATCHES: envInt({ min: 1, max: 1000, default: 4 }),
  /** Largest chance probability, Bonferroni-adjusted over the tenant pairs tested, for a co-scheduling suspicion. */
  BEHAVIOUR_MAX_P_VALUE: z.coerce.number().min(0).max(1).default(1e-3),
  /** Fewest checkpoint hand-offs between two tenants that make a suspicion alone (0: never alone). */
  BEHAVIOUR_MIN_HANDOFFS: envInt({ min: 0, max: 1000, default: 1 }),
  /** Days of each cluster's jobs the analysis reads, back from the cluster's latest start. */
  BEHAVIOUR_LOOKBACK_DAYS: envInt({ min: 1, max: 400, default: 30 }),
  /** Most severe alert a group joined by a suspected (not yet confirmed) link raises. */
  BEHAVIOUR_SUSPECTED_MAX_SEVERITY: z.enum(SEVERITIES).default('medium'),
  /** Where /metrics, /healthz and /readyz listen. */
  OPS_HOST: z.string().default('127.0.0.1'),
  /** Port of the /metrics, /healthz and /readyz listener (0: any free port). */
  OPS_PORT: envInt({ min: 0, max: 65_535, default: 9465 }),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type IngestConfig = z.output<typeof ingestConfigSchema>;
