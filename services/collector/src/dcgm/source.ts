import type { Logger } from 'pino';
import { createCatalog, type Catalog } from '@flopwatch/catalog';
import { USAGE_EVENT_TYPE, usageEventSchema, type Precision, type SlurmMapping, type UsageEvent } from '@flopwatch/contracts';
import type { Emit } from '../emit.js';
import type { TenantMapping } from '../mapping.js';
import type { CollectorMetrics } from '../metrics.js';
import { rfc3339, safeUrl } from '../time.js';
import { createPeriodAggregator, type NodeReport, type ReportCluster } from './aggregate.js';
import { GPU_UTIL, observePage, TENSOR_ACTIVE, type HpcJobInfo } from './observe.js';
import { parsePromText } from './prom-text.js';
import { createScrapeSchedule } from './schedule.js';
import type { TargetList } from './targets.js';
import { createUnsentBuffer, type Delivery } from './unsent.js';

export { GPU_UTIL, TENSOR_ACTIVE, type HpcJobInfo } from './observe.js';
const WANTED = new Set([TENSOR_ACTIVE, GPU_UTIL]);

export interface DcgmSourceDeps {
  targets: TargetList;
  scrapeIntervalMs: number;
  periodMs: number;
  /** Shorter than the scrape interval: a scrape and its answer fit in one slot. */
  scrapeTimeoutMs: number;
  /** The cluster of the exporters' Kubernetes nodes (DCGM_CLUSTER), with its country. */
  cluster: ReportCluster;
  /** SLURM_MAPPING_FILE's clusters: the country of the cluster a Slurm job runs on. */
  slurmClusters: SlurmMapping['clusters'];
  precision: Precision;
  tenants: TenantMapping;
  /** The account and Slurm cluster of a running job, for exporters that label GPUs with `hpc_job`. */
  hpcJob: (jobId: string) => HpcJobInfo | undefined;
  /** Where models are looked up (the policy pack's catalog); the built-in one by default. */
  catalog?: Catalog;
  /** Most reports kept while Kafka refuses them; the oldest beyond it are dropped and counted. */
  unsentMax: number;
  /** A report unsent for longer than this makes the source not ready. */
  unsentMaxAgeMs: number;
  emit: Emit;
  metrics: CollectorMetrics;
  log: Logger;
  /** The clock (epoch ms). */
  now?: () => number;
}

export interface DcgmSource {
  /** Starts one scrape schedule per target; `tick` keeps the schedules in line with the target list. */
  start(): void;
  /** Re-reads the target list (starting and stopping schedules), then produces finished periods. */
  tick(nowMs: number): Promise<void>;
  /**
   * Scrapes one target for the slot containing `startMs`; the answer is kept only if it arrives before
   * that slot ends. False when the slot is missed (counted per target).
   */
  scrape(url: string, startMs: number): Promise<boolean>;
  /** Produces what is finished at `nowMs` and retries events Kafka refused before; no scrape. */
  flush(nowMs: number): Promise<void>;
  /** Stops the schedules; resolves once the scrapes in flight have ended. */
  stop(): Promise<void>;
  /** Whether the source delivers: reports waiting for Kafka, and drops. */
  delivery(): Delivery;
}

/** Scrapes dcgm-exporter endpoints, each on its own schedule, and reports each job's GPUs per node and period. */
export function createDcgmSource(deps: DcgmSourceDeps): DcgmSource {
  const log = deps.log.child({ component: 'dcgm' });
  const now = deps.now ?? Date.now;
  const slotMs = deps.scrapeIntervalMs;
  if (!(deps.scrapeTimeoutMs < slotMs)) throw new RangeError(`the DCGM scrape timeout (${deps.scrapeTimeoutMs} ms) must be shorter than the scrape interval (${slotMs} ms)`);
  const aggregator = createPeriodAggregator({ slotMs, periodMs: deps.periodMs });
  const catalog = deps.catalog ?? createCatalog();
  const down = new Set<string>();
  let known = new Set<string>();
  let started = false;
  const unsent = createUnsentBuffer({
    max: deps.unsentMax,
    maxAgeMs: deps.unsentMaxAgeMs,
    onDrop(dropped) {
      let gpuSeconds = 0;
      for (const e of dropped) gpuSeconds += (e.data.accelerator.count * (Date.parse(e.data.interval.end) - Date.parse(e.data.interval.start))) / 1000;
      deps.metrics.reportsDropped.inc(dropped.length);
      deps.metrics.gpuSecondsDropped.inc(gpuSeconds);
      log.error({ reports: dropped.length, gpuSeconds, oldest: dropped[0]?.id }, 'DCGM unsent buffer full; oldest reports dropped');
    },
  });
  const schedule = createScrapeSchedule({
    slotMs,
    timeoutMs: deps.scrapeTimeoutMs,
    now,
    scrape: (url, startMs) => scrape(url, startMs),
    skipped: (url, slots) => {
      deps.metrics.slotsMissed.labels(safeUrl(url)).inc(slots);
      log.warn({ target: safeUrl(url), slots }, 'DCGM scrape slots skipped (the collector was late)');
    },
  });

  function missed(url: string, reason: string) {
    deps.metrics.scrapes.labels('error').inc();
    deps.metrics.targetUp.labels(safeUrl(url)).set(0);
    deps.metrics.slotsMissed.labels(safeUrl(url)).inc();
    if (!down.has(url)) log.warn({ target: safeUrl(url), err: reason }, 'DCGM exporter scrape failed; its GPUs leave a gap until it answers');
    down.add(url);
    return false;
  }

  async function scrape(url: string, startMs: number): Promise<boolean> {
    const slotEnd = (Math.floor(startMs / slotMs) + 1) * slotMs;
    let body: string;
    try {
      // The answer must come within the timeout and within the slot it is for.
      const signal = AbortSignal.timeout(Math.max(1, Math.min(deps.scrapeTimeoutMs, slotEnd - startMs)));
      const res = await fetch(url, { signal, headers: { accept: 'text/plain' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.text();
    } catch (err) {
      return missed(url, (err as Error).message);
    }
    // A late answer describes a slot already closed to it: never moved into the next one.
    if (now() >= slotEnd) return missed(url, 'answered after its slot ended');
    deps.metrics.scrapes.labels('ok').inc();
    deps.metrics.targetUp.labels(safeUrl(url)).set(1);
    if (down.delete(url)) log.info({ target: safeUrl(url) }, 'DCGM exporter answers again');
    const samples = parsePromText(body, { wanted: WANTED, onBadLine: () => deps.metrics.dcgmSkipped.labels('bad_sample').inc() });
    const observations = observePage(
      { catalog, precision: deps.precision, tenants: deps.tenants, cluster: deps.cluster, slurmClusters: deps.slurmClusters, hpcJob: deps.hpcJob, skip: (reason) => deps.metrics.dcgmSkipped.labels(reason).inc() },
      new URL(url).hostname,
      samples,
    );
    deps.metrics.dcgmSamples.inc(observations.length);
    aggregator.add(startMs, observations);
    return true;
  }

  function syncTargets() {
    const urls = deps.targets.current();
    deps.metrics.targets.set(urls.length);
    // A target no longer discovered is no longer an exporter that is down; its missed slots stay counted.
    for (const gone of known) {
      if (urls.includes(gone)) continue;
      deps.metrics.targetUp.remove(safeUrl(gone));
      down.delete(gone);
    }
    for (const url of urls) if (!known.has(url)) deps.metrics.slotsMissed.labels(safeUrl(url)).inc(0);
    known = new Set(urls);
    if (started) schedule.sync(urls);
  }

  function toEvent(r: NodeReport): UsageEvent | null {
    const start = rfc3339(r.startMs);
    const models = Object.entries(r.models);
    const candidate = {
      specversion: '1.0',
      type: USAGE_EVENT_TYPE,
      source: `dcgm://${r.cluster.id}`,
      id: `${r.cluster.id}/${r.jobId}/${r.node}/${start}`,
      time: rfc3339(r.endMs),
      subject: r.tenantId,
      data: {
        tenantId: r.tenantId,
        jobId: r.jobId,
        node: r.node,
        cluster: r.cluster,
        accelerator: { model: r.model, count: r.milliGpus / 1000 },
        interval: { start, end: rfc3339(r.endMs) },
        precision: deps.precision,
        utilization: { tensorActive: r.tensorActive },
        operations: r.operations,
        labels: {
          ...r.labels,
          'dcgm.utilization': r.fallback ? 'gpu_util_fallback' : 'tensor_active',
          // Thousandths of a GPU per model, when the node's GPUs of the job are of several models.
          ...(models.length > 1 ? { 'dcgm.models': models.map(([id, milli]) => `${id}=${milli / 1000}`).join(',').slice(0, 256) } : {}),
        },
      },
    };
    const parsed = usageEventSchema.safeParse(candidate);
    if (parsed.success) return parsed.data;
    deps.metrics.dcgmSkipped.labels('invalid_event').inc();
    log.warn({ jobId: r.jobId, node: r.node, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'DCGM report maps to an invalid usage event; skipped');
    return null;
  }

  let flushing: Promise<void> = Promise.resolve();
  async function flushNow(nowMs: number) {
    const fresh = aggregator.takeFinished(nowMs).map(toEvent).filter((e): e is UsageEvent => e !== null);
    const batch = [...unsent.events(), ...fresh];
    if (batch.length === 0) return;
    try {
      await deps.emit('dcgm', batch);
      unsent.delivered();
    } catch (err) {
      unsent.refused(fresh, nowMs);
      log.warn({ err, events: batch.length, unsent: unsent.size() }, 'producing DCGM reports failed; kept for the next tick');
    } finally {
      deps.metrics.unsentReports.set(unsent.size());
    }
  }

  // One flush at a time: the unsent buffer is read and replaced around the send.
  function flush(nowMs: number): Promise<void> {
    const next = flushing.then(() => flushNow(nowMs));
    flushing = next.catch(() => undefined);
    return next;
  }

  return {
    start() {
      started = true;
      syncTargets();
    },
    async tick(nowMs) {
      syncTargets();
      await flush(nowMs);
    },
    scrape,
    flush,
    stop: () => schedule.stop(),
    delivery: () => unsent.delivery(now()),
  };
}
