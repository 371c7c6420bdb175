import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createIngest, type Ingest } from '@flopwatch/ingest';
import { consumerLag, createKafkaClient, type KafkaClient } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import { sleep } from '@flopwatch/runtime';
import type { Store } from '@flopwatch/store';

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

/** Polls the consumer group's lag on `topic` until it is zero. */
export async function waitForDrain(kafka: KafkaClient, groupId: string, topic: string, opts: { timeoutMs?: number; onLag?: (lag: number) => void } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const lag = (await consumerLag(kafka, groupId, [topic])).reduce((sum, p) => sum + p.lag, 0);
    opts.onLag?.(lag);
    if (lag === 0) return;
    if (Date.now() > deadline) throw new Error(`consumer group ${groupId} still has ${lag} messages to read on ${topic}`);
    await sleep(250);
  }
}
