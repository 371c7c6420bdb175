import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { DEFAULT_POLICY_PATH } from '@flopwatch/policy';
import { envBoolean, envDuration, envInt, envList, kafkaSecurityEnv, redisSecurityEnv } from '@flopwatch/runtime';
import { validateAllowList } from '@flopwatch/webhooks';

// services/console/dist of this checkout, from src/ and from the compiled dist/ alike (the image sets CONSOLE_DIR).
const BUILT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist', import.meta.url));

/** The API's configuration, from environment variables; every default works with the local stack. */
const webhookAllowList = envList({ default: [], min: 0 }).superRefine((entries, ctx) => {
  try {
    validateAllowList(entries);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const apiConfigSchema = z.object({
  /** Accept http:// webhook endpoints (local development only); the notifier needs the same setting. */
  WEBHOOK_ALLOW_HTTP: envBoolean(false),
  /** CIDRs, addresses or host names (`*.suffix`) exempt from the private-address refusal; same as the notifier's. */
  WEBHOOK_ALLOW_LIST: webhookAllowList,
  /** After a secret rotation, deliveries are signed with the old secret too for this long. */
  WEBHOOK_ROTATION_GRACE: envDuration({ min: 0, max: 30 * 86_400_000, default: 24 * 3_600_000 }),
  /** Address the API listens on. */
  API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port the API listens on (0: any free port). */
  API_PORT: envInt({ min: 0, max: 65_535, default: 8080 }),
  /** Redis URL, or comma-separated seed nodes with REDIS_CLUSTER=true. */
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Treat REDIS_URL as Redis Cluster seed nodes. */
  REDIS_CLUSTER: envBoolean(false),
  /** Prefix of every Redis key; separates deployments sharing one Redis (must match the other services). */
  REDIS_PREFIX: z.string().default('fw:'),
  ...redisSecurityEnv,
  /** Kafka bootstrap brokers, comma-separated. */
  KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
  /** Kafka client id, shown in broker logs and quotas. */
  KAFKA_CLIENT_ID: z.string().min(1).default('flopwatch-api'),
  ...kafkaSecurityEnv,
  /** Where POST /v1/telemetry produces (the ingest's input topic). */
  TELEMETRY_TOPIC: z.string().min(1).default('gpu.telemetry.v1'),
  /** Partitions given to the telemetry topic when the API creates it (the ingest uses the same default). */
  TOPIC_PARTITIONS: envInt({ min: 1, max: 10_000, default: 12 }),
  /** The policy pack (YAML); the service refuses to start on an invalid one. */
  POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_PATH),
  /**
   * API keys as `role:sha256hex` or `role:name:sha256hex`, comma-separated (the API package's `hash-key` script hashes a key).
   * An `ingest` key names what it may report for after its hash: `ingest:name:hex cluster=<id> source=<prefix>`
   * (repeatable, `cluster=*` for any); one without bounds is refused by POST /v1/telemetry (services/api/README.md).
   */
  API_KEYS: z.string().default(''),
  /** A file with one such entry per line (# comments allowed); adds to API_KEYS. */
  API_KEYS_FILE: z.string().optional(),
  /** Requests per key (or per address without a key) per RATE_LIMIT_WINDOW. */
  RATE_LIMIT_MAX: envInt({ min: 1, max: 1_000_000, default: 600 }),
  /** The window RATE_LIMIT_MAX counts requests in. */
  RATE_LIMIT_WINDOW: envDuration({ min: 1_000, default: 60_000 }),
  /** Replicas of the API in this deployment; above 1, rate-limit counters are kept in Redis (see RATE_LIMIT_STORE). */
  API_REPLICAS: envInt({ min: 1, max: 10_000, default: 1 }),
  /** `memory` (per replica), `redis` (shared by every replica), or `auto`: redis when API_REPLICAS > 1. */
  RATE_LIMIT_STORE: z.enum(['auto', 'memory', 'redis']).default('auto'),
  /** Largest request body, bytes. */
  BODY_LIMIT: envInt({ min: 1024, max: 64 * 1024 * 1024, default: 1024 * 1024 }),
  /** A request taking longer than this is answered 503. */
  REQUEST_TIMEOUT: envDuration({ min: 1_000, default: 30_000 }),
  /** /metrics without a key (true), or behind a key of any role (false). */
  METRICS_PUBLIC: envBoolean(true),
  /** Audit entries older than this many days are trimmed as new ones are sealed into the chain; 0 keeps everything (export first: docs/audit.md, Archiving). */
  AUDIT_RETENTION_DAYS: envInt({ min: 0, max: 36_600, default: 0 }),
  /**
   * HMAC keys of the audit chain, kept outside Redis: `<id>:<secret>` entries, comma-separated; a secret is
   * `hex:…`, `base64:…` or text, at least 32 bytes. Rotate by adding a key and making it active; keep old ids to verify.
   */
  AUDIT_HMAC_KEYS: z.string().default(''),
  /** A file with one `<id>:<secret>` per line (# comments allowed); adds to AUDIT_HMAC_KEYS. */
  AUDIT_HMAC_KEYS_FILE: z.string().optional(),
  /** The id of the key new audit entries are sealed with (default: the last listed). */
  AUDIT_HMAC_ACTIVE_KEY: z.string().min(1).optional(),
  /** Publish every sealed audit entry to AUDIT_TOPIC (through the outbox in Redis), so the record survives the loss of Redis. */
  AUDIT_PUBLISH: envBoolean(true),
  /** The Kafka topic holding a copy of the audit chain (one partition, keyed by seq). */
  AUDIT_TOPIC: z.string().min(1).default('compliance.audit.v1'),
  /** retention.ms of AUDIT_TOPIC when the API creates it: five years by default (15 CFR 762.6); an existing topic is left as it is. */
  AUDIT_TOPIC_RETENTION: envDuration({ min: 86_400_000, default: 1826 * 86_400_000 }),
  /** A KYC identifier or name shared by more tenants than this does not link them (a webmail domain, a very common name alone); cases show it (docs/detection.md). */
  LINK_MAX_SHARED: envInt({ min: 2, max: 100_000, default: 50 }),
  /** The provider's copy of the Consolidated Screening List (trade.gov's JSON or CSV download); reloaded when it changes. Unset: no screening (docs/detection.md). */
  SCREENING_LIST_FILE: z.string().min(1).optional(),
  /** How often the screening list file is checked for a change. */
  SCREENING_CHECK_INTERVAL: envDuration({ min: 1_000, default: 60_000 }),
  /** Ed25519 private key (PKCS#8 PEM file) that signs compute statements; without it POST /v1/statements answers 503 (docs/statements.md). */
  STATEMENT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /** Id of the signing key, named in each statement (default: `ed25519:` + 16 hex of its public key's SHA-256). */
  STATEMENT_KEY_ID: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, . _ : -').optional(),
  /** Earlier signing keys' public halves, still served so older statements verify: a JSON file as GET /v1/statements/keys answers (`{ "keys": [{ "keyId", "publicKey" }] }`). */
  STATEMENT_RETIRED_KEYS_FILE: z.string().min(1).optional(),
  /** The ingest's consumer group: a statement records its committed offsets on the telemetry topic beside the topic's end offsets. */
  INGEST_GROUP_ID: z.string().min(1).default('flopwatch-ingest'),
  /** The console's built files, served at /console (default: services/console/dist of this checkout; the image's is /app/console). */
  CONSOLE_DIR: z.string().min(1).default(BUILT_CONSOLE_DIR),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ApiConfig = z.output<typeof apiConfigSchema>;
