import { z } from 'zod';
import { precisionSchema } from '@flopwatch/contracts';
import { DEFAULT_POLICY_PATH } from '@flopwatch/policy';
import { envBoolean, envDuration, envInt, envList, kafkaSecurityEnv, redisSecurityEnv } from '@flopwatch/runtime';
import { parseDnsTarget } from './dns-sd.js';

const optional = z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().min(1).optional());

/** The collector's configuration, from environment variables. Each source is on when its endpoint is set. */
export const collectorConfigSchema = z
  .object({
    /** Kafka bootstrap brokers, comma-separated. */
    KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
    /** Kafka client id, shown in broker logs and quotas. */
    KAFKA_CLIENT_ID: z.string().min(1).default('flopwatch-collector'),
    ...kafkaSecurityEnv,
    /** Topic the usage events go to (key = tenant id); created with TOPIC_PARTITIONS when missing. */
    TELEMETRY_TOPIC: z.string().min(1).default('gpu.telemetry.v1'),
    /** Partitions of the telemetry topic when the collector creates it. */
    TOPIC_PARTITIONS: envInt({ min: 1, max: 10_000, default: 12 }),
    /** Redis URL (the Slurm poller's progress per job), or comma-separated seed nodes with REDIS_CLUSTER=true. */
    REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
    /** Treat REDIS_URL as Redis Cluster seed nodes. */
    REDIS_CLUSTER: envBoolean(false),
    /** Prefix of every Redis key; separates deployments sharing one Redis. */
    REDIS_PREFIX: z.string().default('fw:'),
    ...redisSecurityEnv,
    /** The policy pack; the Slurm poller splits intervals to its `limits.maxIntervalSeconds`. */
    POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_PATH),
    /** YAML: Kubernetes namespace → tenant (`namespaces`) and Slurm account → tenant (`accounts`). */
    TENANT_MAPPING_FILE: optional,
    /** YAML: Slurm partition → accelerator and cluster → country, the file the ingest reads for jobcomp. */
    SLURM_MAPPING_FILE: optional,
    /** dcgm-exporter endpoints to scrape, comma-separated (`http://node1:9400/metrics` or `node1:9400`). */
    DCGM_TARGETS: envList({ default: [], min: 0 }),
    /** A Prometheus file_sd file (JSON or YAML) listing dcgm-exporter targets; re-read when it changes. */
    DCGM_FILE_SD: optional,
    /**
     * DNS names of dcgm-exporter pods, `name:port`, comma-separated: every IPv4 address a name resolves to
     * is scraped at `http://<ip>:<port>/metrics`, re-resolved every scrape interval. On Kubernetes, a
     * headless Service over the exporter pods (deploy/k8s/dcgm-discovery); in Compose, a service name.
     */
    DCGM_DNS_SD: envList({ default: [], min: 0 }),
    /** How often every exporter is scraped; one missed scrape leaves a gap of this length. */
    DCGM_SCRAPE_INTERVAL: envDuration({ min: 1_000, max: 300_000, default: 15_000 }),
    /** One scrape must answer within this; shorter than DCGM_SCRAPE_INTERVAL, so a scrape and its answer fit in one slot. */
    DCGM_SCRAPE_TIMEOUT: envDuration({ min: 100, max: 60_000, default: 10_000 }),
    /** Report period, aligned to the clock; a whole number of scrape intervals. */
    DCGM_REPORT_PERIOD: envDuration({ min: 1_000, max: 3_600_000, default: 60_000 }),
    /** Most DCGM reports kept in memory while Kafka refuses them; beyond it the oldest are dropped (counted, alerted). */
    DCGM_UNSENT_MAX: envInt({ min: 1, max: 10_000_000, default: 100_000 }),
    /** A DCGM report unsent for longer than this makes /readyz answer not ready. */
    DCGM_UNSENT_MAX_AGE: envDuration({ min: 1_000, max: 86_400_000, default: 300_000 }),
    /** Cluster id of the exporters' nodes; its country comes from SLURM_MAPPING_FILE's `clusters`. */
    DCGM_CLUSTER: optional,
    /** Precision whose dense peak the DCGM reports are estimated at. */
    DCGM_PRECISION: precisionSchema.default('bf16'),
    /** slurmrestd base URL (e.g. http://slurm-head:6820); set to poll running jobs. */
    SLURMRESTD_URL: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.url().optional()),
    /** OpenAPI version of slurmrestd's job listing: v0.0.38 (Slurm 22.05), v0.0.39, v0.0.40, v0.0.41 … */
    SLURMRESTD_API_VERSION: z.string().regex(/^v0\.0\.\d+$/, 'expected a version such as v0.0.38').default('v0.0.38'),
    /** User the JWT was issued for (`X-SLURM-USER-NAME`). */
    SLURMRESTD_USER: z.string().min(1).default('slurm'),
    /** The JWT (`scontrol token username=…`); prefer SLURMRESTD_TOKEN_FILE, which is re-read on every poll. */
    SLURMRESTD_TOKEN: optional,
    /** A file holding the JWT, re-read on every poll so a rotated token is picked up. */
    SLURMRESTD_TOKEN_FILE: optional,
    /** How often running jobs are polled. */
    SLURM_POLL_INTERVAL: envDuration({ min: 1_000, max: 3_600_000, default: 30_000 }),
    /** One poll must answer within this. */
    SLURMRESTD_TIMEOUT: envDuration({ min: 100, max: 120_000, default: 15_000 }),
    /** Produce usage for running Slurm jobs; false lists jobs only to map DCGM `hpc_job` labels to accounts. */
    SLURM_EMIT_JOBS: envBoolean(true),
    /** slurmctld's MinJobAge (how long an ended job stays listed): polls further apart than this may miss jobs, which is counted. */
    SLURM_MIN_JOB_AGE: envDuration({ min: 1_000, max: 30 * 86_400_000, default: 300_000 }),
    /** slurmrestd also serves slurmdbd's `/slurmdb/<version>/jobs` (openapi/dbv…): after an outage longer than MinJobAge, unlisted ended jobs are read from it. */
    SLURMRESTD_ACCOUNTING: envBoolean(false),
    /** Address of the /metrics, /healthz and /readyz listener. */
    OPS_HOST: z.string().default('127.0.0.1'),
    /** Port of the /metrics, /healthz and /readyz listener (0: any free port). */
    OPS_PORT: envInt({ min: 0, max: 65_535, default: 9467 }),
    /** pino log level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    const need = (name: keyof typeof c, why: string) => {
      if (c[name] === undefined) ctx.addIssue({ code: 'custom', path: [name], message: `is required ${why}` });
    };
    const dcgm = c.DCGM_TARGETS.length > 0 || c.DCGM_FILE_SD !== undefined || c.DCGM_DNS_SD.length > 0;
    for (const entry of c.DCGM_DNS_SD) {
      try {
        parseDnsTarget(entry);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['DCGM_DNS_SD'], message: (err as Error).message });
      }
    }
    const slurm = c.SLURMRESTD_URL !== undefined;
    if (!dcgm && !slurm) ctx.addIssue({ code: 'custom', path: ['DCGM_TARGETS'], message: 'no source is on: set DCGM_TARGETS, DCGM_FILE_SD or DCGM_DNS_SD, and/or SLURMRESTD_URL' });
    if (dcgm || slurm) {
      need('TENANT_MAPPING_FILE', 'to map namespaces and accounts to tenants');
      need('SLURM_MAPPING_FILE', 'for cluster countries (and Slurm partitions)');
    }
    if (dcgm) {
      need('DCGM_CLUSTER', 'when DCGM targets are set');
      if (c.DCGM_SCRAPE_TIMEOUT >= c.DCGM_SCRAPE_INTERVAL) ctx.addIssue({ code: 'custom', path: ['DCGM_SCRAPE_TIMEOUT'], message: `must be shorter than DCGM_SCRAPE_INTERVAL (${c.DCGM_SCRAPE_INTERVAL} ms): a scrape and its answer must fit in one slot` });
      if (c.DCGM_REPORT_PERIOD % c.DCGM_SCRAPE_INTERVAL !== 0) ctx.addIssue({ code: 'custom', path: ['DCGM_REPORT_PERIOD'], message: 'must be a whole number of DCGM_SCRAPE_INTERVAL' });
    }
    if (slurm && c.SLURMRESTD_TOKEN === undefined && c.SLURMRESTD_TOKEN_FILE === undefined) {
      ctx.addIssue({ code: 'custom', path: ['SLURMRESTD_TOKEN_FILE'], message: 'SLURMRESTD_TOKEN_FILE or SLURMRESTD_TOKEN is required with SLURMRESTD_URL' });
    }
  });

export type CollectorConfig = z.output<typeof collectorConfigSchema>;
