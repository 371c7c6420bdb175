import type { Logger } from 'pino';
import { findAccelerator } from '@flopwatch/catalog';
import { USAGE_EVENT_TYPE, usageEventSchema, type Precision, type UsageEvent } from '@flopwatch/contracts';
import type { Emit } from '../emit.js';
import type { TenantMapping } from '../mapping.js';
import type { CollectorMetrics } from '../metrics.js';
import { rfc3339, safeUrl } from '../time.js';
import { createPeriodAggregator, type GpuObservation, type NodeReport } from './aggregate.js';
import { parsePromText, type PromSample } from './prom-text.js';
import type { TargetList } from './targets.js';

export const TENSOR_ACTIVE = 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE';
export const GPU_UTIL = 'DCGM_FI_DEV_GPU_UTIL';
const WANTED = new Set([TENSOR_ACTIVE, GPU_UTIL]);

// A MIG instance (GPU_I_ID) is its own device: it may serve another pod than its siblings.
const gpuId = (labels: Record<string, string>): string => `${labels.UUID || labels.gpu || labels.device || '0'}${labels.GPU_I_ID ? `/${labels.GPU_I_ID}` : ''}`;

export interface DcgmSourceDeps {
  targets: TargetList;
  scrapeIntervalMs: number;
  periodMs: number;
  scrapeTimeoutMs: number;
  /** The cluster the exporters' nodes belong to, with its country (from SLURM_MAPPING_FILE's clusters). */
  cluster: { id: string; country: string; region?: string };
  precision: Precision;
  tenants: TenantMapping;
  /** The Slurm account of a running job, for exporters that label GPUs with `hpc_job`. */
  hpcJobAccount: (jobId: string) => string | undefined;
  emit: Emit;
  metrics: CollectorMetrics;
  log: Logger;
}

export interface DcgmSource {
  /** Scrapes every target once at `nowMs`, then produces the reports of every finished period. */
  round(nowMs: number): Promise<void>;
  /** Produces what is finished at `nowMs` and retries events Kafka refused before; no scrape. */
  flush(nowMs: number): Promise<void>;
  /** Reports waiting for Kafka (kept across failed sends). */
  unsent(): number;
}

/** Scrapes dcgm-exporter endpoints and reports each job's GPUs per node and period. */
export function createDcgmSource(deps: DcgmSourceDeps): DcgmSource {
  const log = deps.log.child({ component: 'dcgm' });
  const aggregator = createPeriodAggregator({ slotMs: deps.scrapeIntervalMs, periodMs: deps.periodMs });
  const down = new Set<string>();
  let known = new Set<string>();
  let unsent: UsageEvent[] = [];

  async function scrape(url: string): Promise<string | null> {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(deps.scrapeTimeoutMs), headers: { accept: 'text/plain' } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.text();
      deps.metrics.scrapes.labels('ok').inc();
      deps.metrics.targetUp.labels(safeUrl(url)).set(1);
      if (down.delete(url)) log.info({ target: safeUrl(url) }, 'DCGM exporter answers again');
      return body;
    } catch (err) {
      deps.metrics.scrapes.labels('error').inc();
      deps.metrics.targetUp.labels(safeUrl(url)).set(0);
      if (!down.has(url)) log.warn({ target: safeUrl(url), err: (err as Error).message }, 'DCGM exporter scrape failed; its GPUs leave a gap until it answers');
      down.add(url);
      return null;
    }
  }

  function observe(url: string, samples: PromSample[]): GpuObservation[] {
    const byGpu = new Map<string, { tensor?: PromSample; util?: PromSample }>();
    for (const s of samples) {
      const key = `${s.labels.Hostname ?? ''}\u0000${gpuId(s.labels)}`;
      const entry = byGpu.get(key) ?? {};
      if (s.name === TENSOR_ACTIVE) entry.tensor = s;
      else entry.util = s;
      byGpu.set(key, entry);
    }
    const out: GpuObservation[] = [];
    for (const { tensor, util } of byGpu.values()) {
      const sample = (tensor ?? util)!;
      const value = tensor ? tensor.value : util!.value / 100;
      const labels = sample.labels;
      const skip = (reason: 'idle' | 'unmapped_job' | 'unknown_model' | 'bad_sample') => deps.metrics.dcgmSkipped.labels(reason).inc();
      if (!Number.isFinite(value) || value < 0) {
        skip('bad_sample');
        continue;
      }
      const job = jobOf(labels);
      if (job === 'idle') {
        skip('idle');
        continue;
      }
      if (job === 'unmapped') {
        skip('unmapped_job');
        continue;
      }
      const model = findAccelerator(labels.modelName ?? '');
      if (!model) {
        skip('unknown_model');
        continue;
      }
      deps.metrics.dcgmSamples.inc();
      out.push({
        node: labels.Hostname || new URL(url).hostname,
        gpu: gpuId(labels),
        model: model.id,
        ...job,
        value: Math.min(1, value),
        fallback: !tensor,
      });
    }
    return out;
  }

  function jobOf(labels: Record<string, string>): 'idle' | 'unmapped' | Pick<GpuObservation, 'tenantId' | 'jobId' | 'labels'> {
    if (labels.pod && labels.namespace) {
      const tenantId = deps.tenants.namespaces[labels.namespace];
      if (!tenantId) return 'unmapped';
      return { tenantId, jobId: `${labels.namespace}/${labels.pod}`, labels: { 'k8s.namespace': labels.namespace, 'k8s.pod': labels.pod } };
    }
    if (labels.hpc_job) {
      const account = deps.hpcJobAccount(labels.hpc_job);
      const tenantId = account === undefined ? undefined : deps.tenants.accounts[account];
      if (!tenantId) return 'unmapped';
      return { tenantId, jobId: labels.hpc_job, labels: { 'slurm.account': account! } };
    }
    return 'idle';
  }

  function toEvent(r: NodeReport): UsageEvent | null {
    const start = rfc3339(r.startMs);
    const candidate = {
      specversion: '1.0',
      type: USAGE_EVENT_TYPE,
      source: `dcgm://${deps.cluster.id}`,
      id: `${deps.cluster.id}/${r.jobId}/${r.node}/${start}`,
      time: rfc3339(r.endMs),
      subject: r.tenantId,
      data: {
        tenantId: r.tenantId,
        jobId: r.jobId,
        node: r.node,
        cluster: deps.cluster,
        accelerator: { model: r.model, count: r.gpus },
        interval: { start, end: rfc3339(r.endMs) },
        precision: deps.precision,
        utilization: { tensorActive: r.tensorActive },
        labels: { ...r.labels, 'dcgm.utilization': r.fallback ? 'gpu_util_fallback' : 'tensor_active' },
      },
    };
    const parsed = usageEventSchema.safeParse(candidate);
    if (parsed.success) return parsed.data;
    deps.metrics.dcgmSkipped.labels('invalid_event').inc();
    log.warn({ jobId: r.jobId, node: r.node, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'DCGM report maps to an invalid usage event; skipped');
    return null;
  }

  async function flush(nowMs: number) {
    const fresh = aggregator.takeFinished(nowMs).map(toEvent).filter((e): e is UsageEvent => e !== null);
    const batch = [...unsent, ...fresh];
    if (batch.length === 0) return;
    try {
      await deps.emit('dcgm', batch);
      unsent = [];
    } catch (err) {
      unsent = batch;
      log.warn({ err, events: batch.length }, 'producing DCGM reports failed; kept for the next round');
    }
  }

  return {
    async round(nowMs) {
      const urls = deps.targets.current();
      deps.metrics.targets.set(urls.length);
      // A target no longer discovered is no longer an exporter that is down.
      for (const gone of known) {
        if (urls.includes(gone)) continue;
        deps.metrics.targetUp.remove(safeUrl(gone));
        down.delete(gone);
      }
      known = new Set(urls);
      const pages = await Promise.all(urls.map(async (url) => ({ url, body: await scrape(url) })));
      for (const { url, body } of pages) {
        if (body === null) continue;
        const samples = parsePromText(body, { wanted: WANTED, onBadLine: () => deps.metrics.dcgmSkipped.labels('bad_sample').inc() });
        aggregator.add(nowMs, observe(url, samples));
      }
      await flush(nowMs);
    },
    flush,
    unsent: () => unsent.length,
  };
}
