// The real ingest in the caller's process (the trace replay, scenario tests): `@flopwatch/ingest/in-process`.
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createKafkaClient, waitForDrain, type KafkaClient } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import type { Store } from '@flopwatch/store';
import { createIngest, type Ingest, type IngestDeps } from './app.js';
import { ingestConfigSchema } from './config.js';

export interface InProcessIngestOptions {
  brokers: string[];
  store: Store;
  pack: PolicyPack;
  log: Logger;
  topics: { telemetry: string; dlq: string; partitions: number };
  groupId: string;
  clientId?: string;
  /** The behavioural-link analysis (behaviour.ts), as the ingest's main runs it; absent: not run. */
  behaviour?: IngestDeps['behaviour'];
}

/** The ingest's default behavioural-link settings (its config schema's defaults), with the caller's interval. */
export function behaviourDefaults(intervalMs: number): NonNullable<IngestDeps['behaviour']> {
  const s = ingestConfigSchema.shape;
  return {
    intervalMs,
    windowMinutes: s.BEHAVIOUR_WINDOW_MINUTES.parse(undefined),
    minMatches: s.BEHAVIOUR_MIN_MATCHES.parse(undefined),
    maxPValue: s.BEHAVIOUR_MAX_P_VALUE.parse(undefined),
    minHandoffs: s.BEHAVIOUR_MIN_HANDOFFS.parse(undefined),
    lookbackDays: s.BEHAVIOUR_LOOKBACK_DAYS.parse(undefined),
    suspectedMaxSeverity: s.BEHAVIOUR_SUSPECTED_MAX_SEVERITY.parse(undefined),
  };
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
    ...(opts.behaviour ? { behaviour: opts.behaviour } : {}),
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
