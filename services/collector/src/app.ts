import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createProducer, ensureTopics, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { sleep } from '@flopwatch/runtime';
import type { SlurmMarks } from '@flopwatch/store';
import { createDcgmSource, type DcgmSource, type DcgmSourceDeps } from './dcgm/source.js';
import { createEmitter } from './emit.js';
import { createCollectorMetrics } from './metrics.js';
import { createSlurmSource, type SlurmSource, type SlurmSourceDeps } from './slurm/source.js';

export { createDcgmSource, type DcgmSource, type DcgmSourceDeps } from './dcgm/source.js';
export { createSlurmSource, type SlurmSource, type SlurmSourceDeps } from './slurm/source.js';
export { createSlurmrestdClient, type SlurmrestdClient, type SlurmrestdOptions } from './slurm/client.js';
export { createTargetList, targetUrl, type TargetList } from './dcgm/targets.js';
export { createPeriodAggregator, type GpuObservation, type NodeReport } from './dcgm/aggregate.js';
export { createScrapeSchedule, scrapeOffset } from './dcgm/schedule.js';
export { createUnsentBuffer, type Delivery } from './dcgm/unsent.js';
export { parsePromText, type PromSample } from './dcgm/prom-text.js';
export { readJob, gpusFromGresDetail, type SlurmJob } from './slurm/jobs.js';
export { createEmitter, type Emit } from './emit.js';
export { createCollectorMetrics, type CollectorMetrics } from './metrics.js';
export { loadTenantMapping, loadSlurmMapping, type TenantMapping } from './mapping.js';

type SourceOptions<T> = Omit<T, 'emit' | 'metrics' | 'log'>;

export interface CollectorDeps {
  kafka: KafkaClient;
  /** The store's Slurm marks and polls (store.slurmMarks). */
  slurmMarks: SlurmMarks;
  metricsRegistry: Registry;
  log: Logger;
  topic: { name: string; partitions: number };
  /** Null: the DCGM source is off. */
  dcgm: SourceOptions<Omit<DcgmSourceDeps, 'hpcJob' | 'now'>> | null;
  /** Null: the Slurm source is off. */
  slurm: (SourceOptions<Omit<SlurmSourceDeps, 'marks'>> & { pollIntervalMs: number }) | null;
  /** The clock (epoch ms). */
  now?: () => number;
}

export interface Collector {
  /** Creates the topic, connects the producer and starts each source's loop. */
  start(): Promise<void>;
  /** Not ready before start, after close, and while the DCGM source cannot deliver (old unsent reports, or drops). */
  readiness(): { ready: boolean; checks: Record<string, unknown> };
  /** Stops the loops and scrape schedules, produces what the DCGM source has observed so far, and disconnects; idempotent. */
  close(): Promise<void>;
}

/** The collector: DCGM exporter scrapes and slurmrestd polls → usage events on the telemetry topic. */
export function createCollector(deps: CollectorDeps): Collector {
  const log = deps.log.child({ component: 'collector' });
  const now = deps.now ?? Date.now;
  const metrics = createCollectorMetrics(deps.metricsRegistry);
  const abort = new AbortController();
  const health: Record<string, boolean> = {};
  let producer: KafkaProducer | undefined;
  let dcgm: DcgmSource | undefined;
  let slurm: SlurmSource | undefined;
  let loops: Promise<void>[] = [];
  let closing: Promise<void> | undefined;

  async function loop(name: string, step: () => Promise<void>, nextDelay: () => number): Promise<void> {
    while (!abort.signal.aborted) {
      try {
        await step();
        health[name] = true;
      } catch (err) {
        if (abort.signal.aborted) break;
        health[name] = false;
        log.warn({ err, loop: name }, 'collector step failed; retrying next round');
      }
      await sleep(nextDelay(), abort.signal).catch(() => undefined);
    }
  }

  return {
    async start() {
      await ensureTopics(deps.kafka, [{ topic: deps.topic.name, partitions: deps.topic.partitions }]);
      producer = createProducer(deps.kafka, { idempotent: true, log });
      await producer.connect();
      const emit = createEmitter({ producer, topic: deps.topic.name, metrics, log });
      if (deps.slurm) {
        const { pollIntervalMs, ...options } = deps.slurm;
        const source = createSlurmSource({ ...options, marks: deps.slurmMarks, emit, metrics, log });
        slurm = source;
        loops.push(loop('slurm', async () => void (await source.poll(now())), () => pollIntervalMs));
      }
      if (deps.dcgm) {
        const source = createDcgmSource({ ...deps.dcgm, hpcJob: (id) => slurm?.jobInfo(id), now, emit, metrics, log });
        dcgm = source;
        source.start();
        const slotMs = deps.dcgm.scrapeIntervalMs;
        // Each target scrapes on its own schedule; this loop only follows the target list and closes
        // finished periods, at every slot boundary, whatever any scrape is doing.
        loops.push(loop('dcgm', () => source.tick(now()), () => slotMs - (now() % slotMs) + 1));
      }
      log.info({ topic: deps.topic.name, dcgm: Boolean(deps.dcgm), slurm: Boolean(deps.slurm) }, 'collector ready');
    },
    readiness() {
      const delivery = dcgm?.delivery();
      const ready = producer !== undefined && !abort.signal.aborted && (delivery?.ready ?? true);
      return { ready, checks: { ...health, ...(delivery ? { dcgmDelivery: delivery } : {}) } };
    },
    close() {
      closing ??= (async () => {
        abort.abort(new Error('collector closing'));
        await Promise.allSettled(loops);
        loops = [];
        await dcgm?.stop();
        // What was observed of the open period is a true report; sending it now loses nothing.
        await dcgm?.flush(Number.POSITIVE_INFINITY).catch((err: unknown) => log.warn({ err }, 'final DCGM reports not produced'));
        await producer?.close();
      })();
      return closing;
    },
  };
}
