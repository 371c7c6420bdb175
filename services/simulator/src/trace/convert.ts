import { createHash } from 'node:crypto';
import { USAGE_EVENT_TYPE, type Precision, type UsageEvent } from '@flopwatch/contracts';
import { traceAccelerator } from './models.js';
import type { TracePod } from './pods.js';

/** How a trace becomes usage events; the defaults are the documented replay. */
export interface TraceReplayOptions {
  /** Trace second 0 is this instant: fixed, so a replay is reproducible, and in the past, so no event is "in the future". */
  epoch: string;
  /** Length of each usage report; a pod's last report is shorter. At most the policy's maxIntervalSeconds. */
  intervalSeconds: number;
  /** Pods are spread over this many tenants by a hash of their name. */
  tenants: number;
  /** The trace has no precision; its GPUs (P100, T4, V100, A10) count fp16 tensor work. */
  precision: Precision;
  cluster: { id: string; region: string; country: string };
}

export const DEFAULT_TRACE_OPTIONS: TraceReplayOptions = {
  epoch: '2025-01-01T00:00:00Z',
  intervalSeconds: 300,
  tenants: 16,
  precision: 'fp16',
  // The trace comes from an Alibaba PAI cluster; no region is published.
  cluster: { id: 'alibaba-openb', region: 'cn-openb', country: 'CN' },
};

/** Why a pod produces no usage. */
export type SkipReason = 'no_gpu' | 'no_deletion_time' | 'never_scheduled' | 'empty_interval';

/** A pod as a job: who ran it, on what, for how long. */
export interface TraceJob {
  pod: string;
  tenantId: string;
  acceleratorId: string;
  /** GPUs × 1000: whole GPUs × gpu_milli (1000 for whole GPUs, less for a share of one). */
  milliGpus: number;
  startMs: number;
  endMs: number;
  qos: string;
}

/** The tenant a pod is assigned to: sha256 of its name, mod `tenants`. Deterministic and evenly spread. */
export function traceTenant(podName: string, tenants: number): string {
  const n = createHash('sha256').update(podName).digest().readUInt32BE(0) % tenants;
  return `alibaba-t${String(n).padStart(2, '0')}`;
}

/**
 * The pod as a job, or why it has none. Usage runs from `scheduled_time` (when the pod got its
 * GPUs) to `deletion_time`: a pod never scheduled (Pending in the trace) held no GPU, and a pod
 * without a deletion time has no known end.
 */
export function podToJob(pod: TracePod, options: TraceReplayOptions): TraceJob | SkipReason {
  if (pod.num_gpu === 0 || pod.gpu_milli === 0) return 'no_gpu';
  if (pod.deletion_time === null) return 'no_deletion_time';
  if (pod.scheduled_time === null) return 'never_scheduled';
  if (pod.deletion_time <= pod.scheduled_time) return 'empty_interval';
  const epochMs = Date.parse(options.epoch);
  return {
    pod: pod.name,
    tenantId: traceTenant(pod.name, options.tenants),
    acceleratorId: traceAccelerator(pod.gpu_spec),
    milliGpus: pod.num_gpu * pod.gpu_milli,
    startMs: epochMs + pod.scheduled_time * 1000,
    endMs: epochMs + pod.deletion_time * 1000,
    qos: pod.qos,
  };
}

/** A job's usage events: one per `intervalSeconds` from its start, the last one shorter. */
export function* jobEvents(job: TraceJob, options: TraceReplayOptions): Generator<UsageEvent> {
  const step = options.intervalSeconds * 1000;
  for (let start = job.startMs; start < job.endMs; start += step) {
    const end = Math.min(start + step, job.endMs);
    const interval = { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
    yield {
      specversion: '1.0',
      type: USAGE_EVENT_TYPE,
      source: `trace://alibaba/cluster-trace-gpu-v2023/${options.cluster.id}`,
      id: `${options.cluster.id}/${job.pod}/${interval.start}`,
      time: interval.end,
      subject: job.tenantId,
      data: {
        tenantId: job.tenantId,
        jobId: job.pod,
        cluster: options.cluster,
        accelerator: { model: job.acceleratorId, count: job.milliGpus / 1000 },
        interval,
        precision: options.precision,
        labels: { trace: 'alibaba-gpu-v2023', qos: job.qos },
      },
    };
  }
}

export interface TraceConversion {
  jobs: TraceJob[];
  skipped: Record<SkipReason, number>;
  /** Events the jobs produce, without producing them. */
  eventCount: number;
}

/** The pods' jobs and the count of pods skipped per reason. */
export function traceJobs(pods: readonly TracePod[], options: TraceReplayOptions): TraceConversion {
  const skipped: Record<SkipReason, number> = { no_gpu: 0, no_deletion_time: 0, never_scheduled: 0, empty_interval: 0 };
  const jobs: TraceJob[] = [];
  let eventCount = 0;
  const step = options.intervalSeconds * 1000;
  for (const pod of pods) {
    const job = podToJob(pod, options);
    if (typeof job === 'string') {
      skipped[job] += 1;
      continue;
    }
    jobs.push(job);
    eventCount += Math.ceil((job.endMs - job.startMs) / step);
  }
  return { jobs, skipped, eventCount };
}

/**
 * Every job's events in time order across jobs (by interval start, then job order), as collectors
 * send them while the jobs run. Job after job would be a backfill: a tenant's long job moves its
 * watermark weeks ahead, and its next job's first reports then fall outside the books' lateness
 * bound (`interval_too_late`). A k-way merge over the jobs' event streams (a binary heap of the jobs
 * running at the next start), so memory stays per running job, not per event.
 */
export function* traceEvents(jobs: readonly TraceJob[], options: TraceReplayOptions): Generator<UsageEvent> {
  const step = options.intervalSeconds * 1000;
  const order = jobs.map((job, index) => ({ job, index })).sort((a, b) => a.job.startMs - b.job.startMs || a.index - b.index);
  type Running = { job: TraceJob; index: number; next: number; events: Generator<UsageEvent> };
  const heap: Running[] = [];
  const before = (a: Running, b: Running) => a.next < b.next || (a.next === b.next && a.index < b.index);
  const push = (r: Running) => {
    heap.push(r);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const pop = (): Running => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  };
  let k = 0;
  while (k < order.length || heap.length > 0) {
    // Jobs starting no later than the earliest pending event join the merge.
    while (k < order.length && (heap.length === 0 || order[k]!.job.startMs <= heap[0]!.next)) {
      const { job, index } = order[k++]!;
      if (job.startMs < job.endMs) push({ job, index, next: job.startMs, events: jobEvents(job, options) });
    }
    if (heap.length === 0) continue;
    const running = pop();
    const event = running.events.next();
    if (event.done) continue;
    yield event.value;
    running.next += step;
    if (running.next < running.job.endMs) push(running);
  }
}
