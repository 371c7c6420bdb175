import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KafkaProducer } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import type { AuditCopyReader, Store } from '@flopwatch/store';
import type { UrlPolicy } from '@flopwatch/webhooks';
import type { ApiKeyEntry } from './auth.js';
import type { ScreeningList } from './screening.js';
import type { StatementSigner } from './statements/signing.js';

/** Everything the API needs, created by main.ts (or a test) and passed in. */
export interface ApiDeps {
  store: Store;
  pack: PolicyPack;
  /** Idempotent producer for POST /v1/telemetry. */
  producer: KafkaProducer;
  telemetryTopic: string;
  apiKeys: readonly ApiKeyEntry[];
  log: Logger;
  metricsRegistry: Registry;
  /** Readiness probes; each throws when its dependency is unreachable. */
  checks: { redis(): Promise<void>; kafka(): Promise<void> };
  limits?: Partial<ApiLimits>;
  /**
   * Where rate-limit counters live: null/absent keeps them in this process (one replica); a Redis client
   * shares them between replicas, under `prefix` (so N replicas still allow RATE_LIMIT_MAX per key, not N×).
   */
  rateLimitStore?: { redis: Redis | Cluster; prefix: string } | null;
  /** /readyz answers from a probe run at most once per this long (default 1 s). */
  readyCacheMs?: number;
  /** Webhook endpoint URL policy and secret rotation grace; default: https only, no private hosts. */
  webhooks?: { policy: UrlPolicy; rotationGraceMs?: number };
  /** /metrics without a key. Default true. */
  metricsPublic?: boolean;
  now?: () => Date;
  /**
   * The audit sealer loop (audit-sealing.ts): on by default in every replica (a lease lets one seal);
   * false leaves sealing to readers and other replicas.
   */
  auditSealing?: { intervalMs?: number; intentGraceMs?: number } | false;
  /**
   * The audit chain's copy in Kafka (audit-topic.ts): the sealer publishes sealed entries there (the
   * store must be created with auditPublish) and verify compares the log with it. Absent: Redis only.
   */
  auditTopic?: { topic: string; producer: KafkaProducer; read: AuditCopyReader };
  /**
   * Signed compute statements: the signer (without it POST /v1/statements answers 503), and where the
   * telemetry topic stood when a statement was issued (its end offsets and the ingest group's commits).
   */
  statements?: { signer: StatementSigner; telemetry?: () => Promise<TelemetryPosition> };
  /**
   * The sweep that brings cases and their alerts to agree (case-sweep.ts): on by default in every
   * replica, at start and then every `intervalMs` (default one hour); false turns it off.
   */
  caseSweep?: { intervalMs?: number } | false;
  /** The console's build (services/console/dist), served at /console; without it /console answers 503. */
  consoleDir?: string;
  /**
   * The provider's copy of the Consolidated Screening List (JSON or CSV), checked for changes every
   * `intervalMs`; absent: no screening, `entityListMatch` is what the provider writes (screening.ts).
   */
  screening?: { path: string; intervalMs: number };
  /** Set by buildApp when screening runs: the list in force. */
  screeningList?: () => ScreeningList | null;
}

export interface ApiLimits {
  bodyLimit: number;
  rateLimitMax: number;
  rateLimitWindowMs: number;
  requestTimeoutMs: number;
}

/** Options every route plugin receives. */
export interface RouteOptions {
  deps: ApiDeps;
}

/** The telemetry topic's end offsets, and the ingest group's committed offsets, when a statement was issued. */
export interface TelemetryPosition {
  topic: string;
  consumerGroup: string;
  partitions: { partition: number; end: string; committed: string | null }[];
}
