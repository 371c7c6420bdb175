import type { UsageEvent } from '@flopwatch/contracts';
import type { KafkaProducer } from '@flopwatch/kafka';
import { registerAll, type Registrar } from '../registrar.js';
import { produceEvents, type ProduceProgress } from '../sink.js';
import { planEvents, type ScenarioPlan } from './plan.js';

export interface RunScenariosOptions {
  plans: ScenarioPlan[];
  registrar: Registrar;
  producer: KafkaProducer;
  topic: string;
  /** Overrides the scenarios' own: simulated time per wall-clock time. Infinity sends as fast as it can. */
  compression?: number;
  onRegistered?: (counts: { tenants: number; lineages: number; via: Registrar['kind'] }) => void;
  onProgress?: (p: ProduceProgress & { total: number; simulatedAt: number }) => void;
  signal?: AbortSignal;
}

/**
 * Registers every plan's tenants and lineages, then plays their telemetry together in event-time
 * order, compressed: the timelines share one clock, so concurrent scenarios interleave as they would.
 */
export async function runScenarios(opts: RunScenariosOptions): Promise<ProduceProgress> {
  for (const plan of opts.plans) {
    await registerAll(opts.registrar, plan);
    opts.onRegistered?.({ tenants: plan.tenants.length, lineages: plan.lineages.length, via: opts.registrar.kind });
  }
  const events: UsageEvent[] = opts.plans.flatMap((p) => planEvents(p)).sort((a, b) => Date.parse(a.data.interval.end) - Date.parse(b.data.interval.end));
  const timelineStartMs = Math.min(...opts.plans.map((p) => p.timeline.startMs));
  const compression = opts.compression ?? Math.max(...opts.plans.map((p) => p.scenario.compression));
  let last: UsageEvent | undefined;
  const tracked = (function* () {
    for (const e of events) {
      last = e;
      yield e;
    }
  })();
  return produceEvents(tracked, {
    producer: opts.producer,
    topic: opts.topic,
    ...(Number.isFinite(compression) ? { pace: { timelineStartMs, compression } } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    onProgress: (p) => opts.onProgress?.({ ...p, total: events.length, simulatedAt: last ? Date.parse(last.data.interval.end) : timelineStartMs }),
  });
}
