import { z } from 'zod';
import { envBoolean, envDuration, envInt, envList, kafkaSecurityEnv, redisSecurityEnv } from '@flopwatch/runtime';
import { DEFAULT_RETRY_SCHEDULE_MS, parseRetrySchedule, validateAllowList } from '@flopwatch/webhooks';

const retrySchedule = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
  z
    .string()
    .transform((v, ctx) => {
      try {
        return parseRetrySchedule(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .default([...DEFAULT_RETRY_SCHEDULE_MS]),
);

const allowList = envList({ default: [], min: 0 }).superRefine((entries, ctx) => {
  try {
    validateAllowList(entries);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const unsetIfEmpty = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalUrl = z.preprocess(unsetIfEmpty, z.url().optional());
const optionalString = z.preprocess(unsetIfEmpty, z.string().min(1).optional());
// Credentials in a URL reach every log line and error message that quotes it: they have settings of their own.
const urlWithoutCredentials = optionalUrl.refine((v) => v === undefined || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(v), {
  message: 'must not carry credentials: set ALERTMANAGER_USERNAME and ALERTMANAGER_PASSWORD, or ALERTMANAGER_BEARER_TOKEN',
});

/** The notifier's configuration, from environment variables; every default works with the local stack. */
export const notifierConfigSchema = z.object({
  /** Kafka bootstrap brokers, comma-separated. */
  KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
  /** Kafka client id, shown in broker logs and quotas. */
  KAFKA_CLIENT_ID: z.string().min(1).default('flopwatch-notifier'),
  ...kafkaSecurityEnv,
  /** Where alerts are published (key = subject). */
  ALERTS_TOPIC: z.string().min(1).default('compliance.alerts.v1'),
  /** Partitions of the alerts topic when the notifier creates it. */
  ALERTS_TOPIC_PARTITIONS: envInt({ min: 1, max: 10_000, default: 6 }),
  /** Redis URL, or comma-separated seed nodes with REDIS_CLUSTER=true. */
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Treat REDIS_URL as Redis Cluster seed nodes. */
  REDIS_CLUSTER: envBoolean(false),
  /** Prefix of every Redis key; separates deployments sharing one Redis (must match the other services). */
  REDIS_PREFIX: z.string().default('fw:'),
  ...redisSecurityEnv,
  /** Redis consumer group on the outbox stream; every notifier instance of one deployment shares it. */
  OUTBOX_GROUP: z.string().min(1).default('flopwatch-notifier'),
  /** Name of this instance in the group (default: host name and pid). */
  OUTBOX_CONSUMER: z.string().min(1).optional(),
  /** Outbox entries another instance took and left unacknowledged this long are taken over. */
  OUTBOX_CLAIM_IDLE: envDuration({ min: 100, default: 60_000 }),
  /** How often an idle notifier looks for new outbox entries and due deliveries. */
  POLL_INTERVAL: envDuration({ min: 10, default: 500 }),
  /** Delays between delivery attempts, e.g. `5s,5m,30m,2h,5h,10h,10h`; after the last, the message is dead-lettered. */
  WEBHOOK_RETRY_SCHEDULE: retrySchedule,
  /** ± fraction of each retry delay chosen at random. */
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  /** One attempt (connect, send, answer) must complete within this. */
  WEBHOOK_TIMEOUT: envDuration({ min: 100, max: 120_000, default: 15_000 }),
  /** Response bytes read and kept per attempt. */
  WEBHOOK_MAX_RESPONSE_BYTES: envInt({ min: 0, max: 1_048_576, default: 4_096 }),
  /** Attempts in flight at once per instance. */
  WEBHOOK_CONCURRENCY: envInt({ min: 1, max: 1_000, default: 16 }),
  /** An endpoint failing without a single success this long is disabled. */
  WEBHOOK_DISABLE_AFTER: envDuration({ min: 1_000, default: 5 * 86_400_000 }),
  /** Allow http:// endpoints (local development only). */
  WEBHOOK_ALLOW_HTTP: envBoolean(false),
  /** CIDRs, addresses or host names (`*.suffix`) exempt from the private-address refusal. */
  WEBHOOK_ALLOW_LIST: allowList,
  /** Alertmanager base URL (e.g. http://127.0.0.1:9093); unset to not post to one. A URL with credentials is refused: they go in the settings below. */
  ALERTMANAGER_URL: urlWithoutCredentials,
  /** User name for Alertmanager's basic auth (its web config's `basic_auth_users`); sent in an Authorization header. */
  ALERTMANAGER_USERNAME: optionalString,
  /** Password for Alertmanager's basic auth (or ALERTMANAGER_PASSWORD_FILE); never logged. */
  ALERTMANAGER_PASSWORD: optionalString,
  /** A file holding the Alertmanager password (e.g. a mounted secret); trailing newline ignored. */
  ALERTMANAGER_PASSWORD_FILE: optionalString,
  /** Bearer token for an Alertmanager behind a proxy that wants one (instead of basic auth); never logged. */
  ALERTMANAGER_BEARER_TOKEN: optionalString,
  /** A file holding the Alertmanager bearer token; trailing newline ignored. */
  ALERTMANAGER_BEARER_TOKEN_FILE: optionalString,
  /** How often every open case is sent to Alertmanager again; its endsAt is 4 intervals ahead. */
  ALERTMANAGER_RESEND_INTERVAL: envDuration({ min: 100, max: 3_600_000, default: 60_000 }),
  /** One post to Alertmanager must complete within this. */
  ALERTMANAGER_TIMEOUT: envDuration({ min: 100, max: 120_000, default: 10_000 }),
  /** Base URL of the API as analysts reach it; Alertmanager's generatorURL opens the case at PUBLIC_API_URL/console/#/cases/{caseId}. */
  PUBLIC_API_URL: optionalUrl,
  /** Address of the /metrics, /healthz and /readyz listener. */
  OPS_HOST: z.string().default('127.0.0.1'),
  /** Port of the /metrics, /healthz and /readyz listener (0: any free port). */
  OPS_PORT: envInt({ min: 0, max: 65_535, default: 9466 }),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type NotifierConfig = z.output<typeof notifierConfigSchema>;
