import type { Logger } from 'pino';
import type { UsageEvent } from '@flopwatch/contracts';
import type { KafkaProducer } from '@flopwatch/kafka';
import type { CollectorMetrics, SOURCES } from './metrics.js';

export type Source = (typeof SOURCES)[number];

/** Sends usage events keyed by tenant; throws when Kafka does not take them (the caller keeps them). */
export type Emit = (source: Source, events: UsageEvent[]) => Promise<void>;

export function createEmitter(deps: { producer: KafkaProducer; topic: string; metrics: CollectorMetrics; log: Logger }): Emit {
  return async (source, events) => {
    if (events.length === 0) return;
    try {
      await deps.producer.send(deps.topic, events.map((e) => ({ key: e.data.tenantId, value: JSON.stringify(e) })));
    } catch (err) {
      deps.metrics.produceErrors.labels(source).inc();
      throw err;
    }
    deps.metrics.events.labels(source).inc(events.length);
    let gpuSeconds = 0;
    for (const e of events) gpuSeconds += (e.data.accelerator.count * (Date.parse(e.data.interval.end) - Date.parse(e.data.interval.start))) / 1000;
    deps.metrics.gpuSeconds.labels(source).inc(gpuSeconds);
    deps.log.debug({ source, events: events.length }, 'usage events produced');
  };
}
