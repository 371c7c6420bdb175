import type { Logger } from 'pino';
import { createProducer, ensureTopics, type KafkaClient } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import type { Store } from '@flopwatch/store';
import { produceEvents, type ProduceProgress } from '../sink.js';
import { traceEvents, traceJobs, type TraceConversion, type TraceReplayOptions } from './convert.js';
import type { TracePod } from './pods.js';

/** A tenant's totals as the books keep them. */
export interface TenantBooks {
  /** Tera-operations (10^12). */
  teraOps: number;
  /** GPU-microseconds. */
  gpuMicroseconds: number;
}

/** The ingest a replay runs through (`startInProcessIngest` of `@flopwatch/ingest/in-process`). */
export interface TraceIngest {
  kafka: KafkaClient;
  /** Resolves when the ingest has read everything on the telemetry topic. */
  drained(opts: { timeoutMs?: number; onLag?: (lag: number) => void }): Promise<void>;
  close(): Promise<void>;
}

export interface TraceReplayRun {
  /** Starts the real ingest on `topics` and `store`; the caller chooses it, so the simulator imports no service. */
  startIngest(opts: Pick<TraceReplayRun, 'brokers' | 'store' | 'pack' | 'log' | 'topics' | 'groupId'>): Promise<TraceIngest>;
  pods: readonly TracePod[];
  options: TraceReplayOptions;
  brokers: string[];
  store: Store;
  pack: PolicyPack;
  log: Logger;
  /** Topic names for this run (fresh ones keep runs apart). */
  topics: { telemetry: string; dlq: string; partitions: number };
  groupId: string;
  onConverted?: (c: TraceConversion) => void;
  onProduced?: (p: ProduceProgress) => void;
  onLag?: (lag: number) => void;
}

export interface TraceReplayResult {
  conversion: TraceConversion;
  produced: ProduceProgress;
  /** From the first send until the ingest had read everything. */
  elapsedMs: number;
  books: Map<string, TenantBooks>;
}

/** Replays the trace through the real pipeline: Kafka topic → in-process ingest → Redis, then reads the books. */
export async function replayTrace(run: TraceReplayRun): Promise<TraceReplayResult> {
  const conversion = traceJobs(run.pods, run.options);
  run.onConverted?.(conversion);
  const ingest = await run.startIngest({ brokers: run.brokers, store: run.store, pack: run.pack, log: run.log, topics: run.topics, groupId: run.groupId });
  try {
    await ensureTopics(ingest.kafka, [{ topic: run.topics.telemetry, partitions: run.topics.partitions }]);
    const producer = createProducer(ingest.kafka, { idempotent: true, log: run.log });
    await producer.connect();
    const started = Date.now();
    let produced: ProduceProgress;
    try {
      produced = await produceEvents(traceEvents(conversion.jobs, run.options), { producer, topic: run.topics.telemetry, batchSize: 1000, ...(run.onProduced ? { onProgress: run.onProduced } : {}) });
    } finally {
      await producer.close();
    }
    await ingest.drained({ timeoutMs: 30 * 60_000, ...(run.onLag ? { onLag: run.onLag } : {}) });
    const elapsedMs = Date.now() - started;
    const tenants = [...new Set(conversion.jobs.map((j) => j.tenantId))].sort();
    const books = new Map<string, TenantBooks>();
    for (const t of tenants) {
      const { teraOps, gpuMicroseconds } = await run.store.accounting.totals(t);
      books.set(t, { teraOps, gpuMicroseconds });
    }
    return { conversion, produced, elapsedMs, books };
  } finally {
    await ingest.close();
  }
}
