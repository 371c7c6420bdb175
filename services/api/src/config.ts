import { z } from 'zod';
import { DEFAULT_POLICY_PATH } from '@flopwatch/policy';
import { envBoolean, envDuration, envInt, envList } from '@flopwatch/runtime';

/** The API's configuration, from environment variables; every default works with the local stack. */
export const apiConfigSchema = z.object({
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: envInt({ min: 0, max: 65_535, default: 8080 }),
  /** Redis URL, or comma-separated seed nodes with REDIS_CLUSTER=true. */
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER: envBoolean(false),
  REDIS_PREFIX: z.string().default('fw:'),
  KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
  KAFKA_CLIENT_ID: z.string().min(1).default('flopwatch-api'),
  /** Where POST /v1/telemetry produces (the ingest's input topic). */
  TELEMETRY_TOPIC: z.string().min(1).default('gpu.telemetry.v1'),
  POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_PATH),
  /** API keys as `role:sha256hex` or `role:name:sha256hex`, comma-separated (`pnpm --filter @flopwatch/api hash-key <key>`). */
  API_KEYS: z.string().default(''),
  /** A file with one such entry per line (# comments allowed); adds to API_KEYS. */
  API_KEYS_FILE: z.string().optional(),
  /** Requests per key (or per address without a key) per RATE_LIMIT_WINDOW. */
  RATE_LIMIT_MAX: envInt({ min: 1, max: 1_000_000, default: 600 }),
  RATE_LIMIT_WINDOW: envDuration({ min: 1_000, default: 60_000 }),
  /** Largest request body, bytes. */
  BODY_LIMIT: envInt({ min: 1024, max: 64 * 1024 * 1024, default: 1024 * 1024 }),
  /** A request taking longer than this is answered 503. */
  REQUEST_TIMEOUT: envDuration({ min: 1_000, default: 30_000 }),
  /** /metrics without a key (true), or behind a key of any role (false). */
  METRICS_PUBLIC: envBoolean(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ApiConfig = z.output<typeof apiConfigSchema>;
