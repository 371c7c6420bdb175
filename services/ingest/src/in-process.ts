// The real ingest in the caller's process (the trace replay, scenario tests): `@flopwatch/ingest/in-process`.
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createKafkaClient, waitForDrain, type KafkaClient } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import type { Store } from '@flopwatch/store';
import { createIngest, type Ingest } from './app.js';

export interface InProcessIngestOptions {
  brokers: string[];
  store: Store;
  pack: PolicyPack;
  log: Logger;
  topics: { telemetry: string; dlq: string; partitions: number };
  groupId: string;
  clientId?: string;
}

export interface InProcessIngest {
  ingest: Ingest;
  kafka: KafkaClient;
  /** Resolves when the group has committed everything on the telemetry topic. */
  drained(opts?: { timeoutMs?: number; onLag?: (lag: number) => void }): Promise<void>;
  close(): Promise<void>;
}

/** The real ingest, running in this process against the given topics and store (replays and tests). */
export async function startInProcessIngest(opts: InProcessIngestOptions): Promise<InProcessIngest> {
  const kafka = createKafkaClient({ brokers: opts.brokers, clientId: opts.clientId ?? `${opts.groupId}-client`, logger: opts.log });
  const ingest = createIngest({
    kafka,
    store: opts.store,
    pack: opts.pack,
    slurm: null,
    metricsRegistry: new Registry(),
    log: opts.log,
    topics: { telemetry: opts.topics.telemetry, slurm: null, dlq: opts.topics.dlq, partitions: opts.topics.partitions },
    groupId: opts.groupId,
    maxMessageBytes: 1024 * 1024,
  });
  await ingest.start();
  return {
    ingest,
    kafka,
    drained: (o = {}) => waitForDrain(kafka, opts.groupId, opts.topics.telemetry, o),
    async close() {
      await ingest.close();
      await kafka.close();
    },
  };
}
