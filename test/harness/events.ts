// Usage events for tests: real CloudEvents as a scheduler would send them.
export interface UsageEventSpec {
  tenantId: string;
  jobId: string;
  /** Interval start (epoch ms) and length in seconds. */
  startMs: number;
  seconds: number;
  gpus?: number;
  model?: string;
  country?: string;
  clusterId?: string;
  precision?: string;
  tensorActive?: number;
  lineageId?: string | null;
  source?: string;
  /** The host, or host/GPU, the report covers; omitted for a whole-job report. */
  node?: string;
}

/** A `io.flopwatch.gpu.usage.v1` CloudEvent; defaults: 8 H100 SXM in the US at bf16, tensor-active 0.4. */
export function usageEvent(spec: UsageEventSpec) {
  const start = new Date(spec.startMs).toISOString();
  const end = new Date(spec.startMs + spec.seconds * 1000).toISOString();
  const clusterId = spec.clusterId ?? 'cluster-a';
  return {
    specversion: '1.0',
    type: 'io.flopwatch.gpu.usage.v1',
    source: spec.source ?? `slurm://${clusterId}`,
    id: `${clusterId}/${spec.jobId}/${spec.node ? `${spec.node}/` : ''}${start}`,
    time: end,
    subject: spec.tenantId,
    data: {
      tenantId: spec.tenantId,
      jobId: spec.jobId,
      ...(spec.node ? { node: spec.node } : {}),
      cluster: { id: clusterId, region: 'test-1', country: spec.country ?? 'US' },
      accelerator: { model: spec.model ?? 'nvidia-h100-sxm5-80gb', count: spec.gpus ?? 8 },
      interval: { start, end },
      precision: spec.precision ?? 'bf16',
      utilization: { tensorActive: spec.tensorActive ?? 0.4 },
      ...(spec.lineageId ? { lineage: { id: spec.lineageId, parentId: null } } : {}),
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; returns that value. */
export async function waitFor<T>(check: () => Promise<T> | T, { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${JSON.stringify(last)})`);
}
