import { USAGE_EVENT_TYPE, type UsageEvent } from '@flopwatch/contracts';
import type { KafkaProducer } from '@flopwatch/kafka';
import { produceEvents, type ProduceProgress } from './sink.js';

export interface LoadOptions {
  producer: KafkaProducer;
  topic: string;
  /** Target events per second. */
  rate: number;
  /** How long to run. */
  seconds: number;
  /** Distinct tenants (keys, so partitions) the load spreads over. */
  tenants?: number;
  /** Concurrent jobs per tenant. */
  jobsPerTenant?: number;
  onProgress?: (p: ProduceProgress) => void;
  signal?: AbortSignal;
  now?: () => number;
}

/**
 * Synthetic load for benchmarks: `rate` events/s of 60-second reports from many small H100 jobs.
 * Each job's reports start a day back and advance one interval per event, so nothing is in the
 * future; a job that catches up with the clock is replaced by a new one.
 */
export function loadEvents(opts: Required<Pick<LoadOptions, 'rate' | 'seconds' | 'tenants' | 'jobsPerTenant'>> & { now: () => number; runId: string }): Iterable<UsageEvent> {
  const stepMs = 60_000;
  const jobs = opts.tenants * opts.jobsPerTenant;
  const cursors = Array.from({ length: jobs }, () => ({ at: Math.floor((opts.now() - 86_400_000) / stepMs) * stepMs, generation: 0 }));
  const total = Math.round(opts.rate * opts.seconds);
  return {
    *[Symbol.iterator]() {
      for (let n = 0; n < total; n++) {
        const j = n % jobs;
        const cursor = cursors[j]!;
        if (cursor.at + stepMs > opts.now() - stepMs) {
          cursor.at = Math.floor((opts.now() - 86_400_000) / stepMs) * stepMs;
          cursor.generation += 1;
        }
        const tenantId = `load-t${String(j % opts.tenants).padStart(4, '0')}`;
        const jobId = `${opts.runId}-j${j}-g${cursor.generation}`;
        const interval = { start: new Date(cursor.at).toISOString(), end: new Date(cursor.at + stepMs).toISOString() };
        cursor.at += stepMs;
        yield {
          specversion: '1.0',
          type: USAGE_EVENT_TYPE,
          source: 'sim://load',
          id: `load/${jobId}/${interval.start}`,
          time: interval.end,
          subject: tenantId,
          data: {
            tenantId,
            jobId,
            cluster: { id: 'load-us-east', region: 'us-east-1', country: 'US' },
            accelerator: { model: 'nvidia-h100-sxm5-80gb', count: 8 },
            interval,
            precision: 'bf16',
            utilization: { tensorActive: 0.4 },
          },
        };
      }
    },
  };
}

/** Produces synthetic load at a target rate; returns what was achieved. */
export function runLoad(opts: LoadOptions): Promise<ProduceProgress> {
  const events = loadEvents({
    rate: opts.rate, seconds: opts.seconds, tenants: opts.tenants ?? 200, jobsPerTenant: opts.jobsPerTenant ?? 5,
    now: opts.now ?? Date.now, runId: Date.now().toString(36),
  });
  return produceEvents(events, {
    producer: opts.producer, topic: opts.topic, targetRate: opts.rate, batchSize: Math.max(50, Math.min(1000, Math.round(opts.rate / 10))),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
