import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { freshPrefix, freshTopics, kafkaBrokers, redisUrl, uniqueId } from '@flopwatch/test-harness';
import { estimateOperations, loadPolicyPack, type PolicyPack } from '@flopwatch/policy';
import { createKafkaClient, createProducer, type KafkaProducer } from '@flopwatch/kafka';
import { countedTeraOps, createStore, teraOpsPerMs, type Store } from '@flopwatch/store';
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
export async function startIngest(opts: { topics: Topics; groupId: string; store: Store; pack?: PolicyPack; registry?: Registry }): Promise<TestIngest> {
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

/** A Redis client and a store under a fresh prefix. */
export function testStore(prefix = freshPrefix('ingest')): { redis: Redis; store: Store; prefix: string } {
  const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
  return { redis, store: createStore({ redis, prefix }), prefix };
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
