import type { UsageEvent } from '@flopwatch/contracts';
import type { KafkaProducer } from '@flopwatch/kafka';
import { sleep } from '@flopwatch/runtime';

/** Progress of a production run, reported after every batch. */
export interface ProduceProgress {
  sent: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

export interface ProduceOptions {
  producer: KafkaProducer;
  topic: string;
  /** Messages per send. */
  batchSize?: number;
  /** Upper bound on the send rate (events/s); unbounded when absent. */
  targetRate?: number;
  /**
   * Pacing by event time: an event is held until the wall clock has advanced
   * (interval end − timeline start) ÷ compression since the run began.
   */
  pace?: { timelineStartMs: number; compression: number };
  onProgress?: (p: ProduceProgress) => void;
  signal?: AbortSignal;
}

/** Produces usage events to Kafka, key = tenant id, in batches; returns the count sent. */
export async function produceEvents(events: Iterable<UsageEvent>, options: ProduceOptions): Promise<ProduceProgress> {
  const batchSize = options.batchSize ?? 500;
  const started = Date.now();
  let sent = 0;
  let batch: UsageEvent[] = [];
  const progress = (): ProduceProgress => {
    const elapsedMs = Date.now() - started;
    return { sent, elapsedMs, eventsPerSecond: elapsedMs > 0 ? (sent * 1000) / elapsedMs : 0 };
  };
  const flush = async () => {
    if (batch.length === 0) return;
    await options.producer.send(options.topic, batch.map((e) => ({ key: e.data.tenantId, value: JSON.stringify(e) })));
    sent += batch.length;
    batch = [];
    options.onProgress?.(progress());
  };
  for (const event of events) {
    if (options.signal?.aborted) break;
    const due = dueAt(event, sent + batch.length, started, options);
    // Sleeping per event would cap the rate at the timer resolution: wait only for gaps worth it.
    if (due - Date.now() > 20) {
      await flush();
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
    batch.push(event);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return progress();
}

/** The wall-clock instant an event may be sent: the later of the rate limit and the time-compression pace. */
function dueAt(event: UsageEvent, index: number, started: number, options: ProduceOptions): number {
  let due = 0;
  if (options.targetRate) due = started + (index * 1000) / options.targetRate;
  if (options.pace) {
    const simMs = Date.parse(event.data.interval.end) - options.pace.timelineStartMs;
    due = Math.max(due, started + simMs / options.pace.compression);
  }
  return due;
}
