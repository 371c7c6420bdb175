import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach } from 'vitest';
import { dropPrefix, freshPrefix, freshTopics, kafkaBrokers, redisUrl, spawnService, uniqueId, usageEvent, type ServiceProcess } from '@flopwatch/test-harness';
import { estimateOperations, loadPolicyPack, type PolicyPack } from '@flopwatch/policy';
import { consumerLag, createKafkaClient, createProducer, type KafkaProducer } from '@flopwatch/kafka';
import { countedTeraOps, createKeys, createStore, teraOpsPerMs, type Keys, type Store } from '@flopwatch/store';
import type { UsageEvent } from '@flopwatch/contracts';
import { createIngest, type Ingest } from '../src/app.js';

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
export const defaultPack = (): PolicyPack => loadPolicyPack(new URL('../../../deploy/policy/default.yaml', import.meta.url).pathname);

/** The Slurm mapping the tests' ingest runs with. */
export const SLURM = { partitions: { gpu: { accelerator: 'nvidia-h100-sxm5-80gb' } }, clusters: { 'slurm-a': { country: 'US' } } };

export interface Topics {
  telemetry: string;
  slurm: string;
  dlq: string;
}

export async function testTopics(): Promise<Topics> {
  const [telemetry, slurm, dlq] = await freshTopics(['telemetry', 'slurm', 'dlq']);
  return { telemetry, slurm, dlq };
}

export interface TestIngest {
  ingest: Ingest;
  close(): Promise<void>;
}

/** Starts an ingest in this process against the run's Kafka and the given store. */
export async function startIngest(opts: { topics: Topics; groupId: string; store: Store; pack?: PolicyPack; registry?: Registry; fetchAhead?: boolean; pendingEvaluationMinAgeMs?: number }): Promise<TestIngest> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('ingest'), logger: silent });
  const ingest = createIngest({
    kafka,
    store: opts.store,
    pack: opts.pack ?? defaultPack(),
    slurm: SLURM,
    metricsRegistry: opts.registry ?? new Registry(),
    log: silent,
    topics: { telemetry: opts.topics.telemetry, slurm: opts.topics.slurm, dlq: opts.topics.dlq, partitions: 3 },
    groupId: opts.groupId,
    maxMessageBytes: 1024 * 1024,
    ...(opts.fetchAhead !== undefined ? { fetchAhead: opts.fetchAhead } : {}),
    ...(opts.pendingEvaluationMinAgeMs !== undefined ? { pendingEvaluationMinAgeMs: opts.pendingEvaluationMinAgeMs } : {}),
  });
  await ingest.start();
  return {
    ingest,
    close: async () => {
      await ingest.close();
      await kafka.close();
    },
  };
}

/** A Redis client, a store under a fresh prefix, and the store's key names (to read Redis through the client). */
export function testStore(prefix = freshPrefix('ingest')): { redis: Redis; store: Store; prefix: string; keys: Keys } {
  const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
  return { redis, store: createStore({ redis, prefix }), prefix, keys: createKeys(prefix) };
}

export async function testProducer(): Promise<{ producer: KafkaProducer; close(): Promise<void> }> {
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('producer'), logger: silent });
  const producer = createProducer(kafka, { idempotent: true });
  await producer.connect();
  return { producer, close: async () => { await producer.close(); await kafka.close(); } };
}

export const encode = (events: object[]) => events.map((e) => ({ key: (e as UsageEvent).data.tenantId, value: JSON.stringify(e) }));

/**
 * Ground truth, computed from the unique events alone: per tenant, each event's estimate turned into
 * tera-operations the way the books keep them (events of a job are contiguous here, so each counts whole).
 */
export function groundTruth(events: UsageEvent[], pack: PolicyPack): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) {
    const ms = Date.parse(e.data.interval.end) - Date.parse(e.data.interval.start);
    const tera = countedTeraOps(ms, teraOpsPerMs(estimateOperations(e, pack).operations, ms));
    out.set(e.data.tenantId, (out.get(e.data.tenantId) ?? 0) + tera);
  }
  return out;
}

/** Tera-operations each tenant has in the store. */
export async function storedTotals(store: Store, tenants: Iterable<string>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of tenants) out.set(t, (await store.accounting.tenantTotals(t)).ops ?? 0);
  return out;
}

const HOUR = 3_600_000;
/** Event time of the test streams: three days ago, so nothing is in the future. */
export const T0 = Date.now() - 3 * 24 * HOUR;

/** A small fleet: each tenant runs jobs reporting contiguous one-minute intervals. */
export function stream(tenants: number, jobsPerTenant: number, intervals: number, from = 0): UsageEvent[] {
  const out: UsageEvent[] = [];
  for (let i = from; i < from + intervals; i++) {
    for (let t = 0; t < tenants; t++) {
      for (let j = 0; j < jobsPerTenant; j++) {
        out.push(usageEvent({ tenantId: `tenant-${t}`, jobId: `job-${t}-${j}`, startMs: T0 + i * 60_000, seconds: 60, gpus: 8 * (j + 1), tensorActive: 0.3 + 0.05 * t, lineageId: `tenant-${t}/model` }) as UsageEvent);
      }
    }
  }
  return out;
}

/** True when the group has committed every message of the topics. */
export async function caughtUp(groupId: string, topics: Pick<Topics, 'telemetry' | 'slurm'>): Promise<boolean> {
  const client = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('lag'), logger: silent });
  try {
    const lag = await consumerLag(client, groupId, [topics.telemetry, topics.slurm]);
    return lag.every((p) => p.lag === 0 && (p.committed !== null || p.high === '0'));
  } finally {
    await client.close();
  }
}

export type IngestProcess = ServiceProcess;

/** Runs the ingest as a real process (services/ingest/dist/main.js, as an operator would), with env overrides. */
export function spawnIngest(env: Record<string, string>): IngestProcess {
  return spawnService('ingest', { KAFKA_BROKERS: kafkaBrokers().join(','), REDIS_URL: redisUrl(), ...env });
}

/**
 * A test file's ingests (closed after each test), cleanups (run after the file, newest first) and
 * `env()`: a store under a fresh key prefix, dropped after the file.
 */
export function ingestTestEnv() {
  const running: TestIngest[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (running.length) await running.pop()!.close();
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  function env() {
    const s = testStore();
    cleanups.push(async () => {
      await dropPrefix(s.redis, s.prefix);
      s.redis.disconnect();
    });
    return s;
  }
  return { running, cleanups, env };
}
