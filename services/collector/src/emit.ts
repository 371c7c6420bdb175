import type { Logger } from 'pino';
import type { UsageEvent } from '@flopwatch/contracts';
import { recordsTooLarge, type KafkaProducer } from '@flopwatch/kafka';
import type { CollectorMetrics, SOURCES } from './metrics.js';

export type Source = (typeof SOURCES)[number];

/**
 * Sends usage events keyed by tenant, in requests bounded by the topic's max.message.bytes (the
 * producer splits them); throws when Kafka does not take them (the caller keeps them and sends them
 * again). An event too large for any request cannot be made smaller: it is counted
 * (`flopwatch_collector_events_too_large_total`, and its GPU-seconds), logged with its id, and not
 * thrown for, so it never holds back the others nor the source's marks.
 */
export type Emit = (source: Source, events: UsageEvent[]) => Promise<void>;

const gpuSecondsOf = (events: UsageEvent[]) => {
  let gpuSeconds = 0;
  for (const e of events) gpuSeconds += (e.data.accelerator.count * (Date.parse(e.data.interval.end) - Date.parse(e.data.interval.start))) / 1000;
  return gpuSeconds;
};

export function createEmitter(deps: { producer: KafkaProducer; topic: string; metrics: CollectorMetrics; log: Logger }): Emit {
  return async (source, events) => {
    if (events.length === 0) return;
    let sent = events;
    try {
      await deps.producer.send(deps.topic, events.map((e) => ({ key: e.data.tenantId, value: JSON.stringify(e) })));
    } catch (err) {
      const tooLarge = recordsTooLarge(err);
      if (!tooLarge) {
        deps.metrics.produceErrors.labels(source).inc();
        throw err;
      }
      const left = new Set(tooLarge.records.map((r) => r.index));
      const unsent = events.filter((_, i) => left.has(i));
      sent = events.filter((_, i) => !left.has(i));
      deps.metrics.tooLarge.labels(source).inc(unsent.length);
      deps.metrics.tooLargeGpuSeconds.labels(source).inc(gpuSecondsOf(unsent));
      for (const r of tooLarge.records) {
        const e = events[r.index]!;
        deps.log.error(
          { source, eventId: e.id, tenantId: e.data.tenantId, bytes: r.bytes, maxMessageBytes: tooLarge.limit, topic: tooLarge.topic, gpuSeconds: gpuSecondsOf([e]) },
          'usage event larger than the telemetry topic accepts; not sent (its usage is not counted)',
        );
      }
    }
    deps.metrics.events.labels(source).inc(sent.length);
    deps.metrics.gpuSeconds.labels(source).inc(gpuSecondsOf(sent));
    deps.log.debug({ source, events: sent.length }, 'usage events produced');
  };
}
