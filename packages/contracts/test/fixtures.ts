/** ARCHITECTURE.md's example event, as a fresh object each call. */
export function exampleEvent(): Record<string, unknown> & { data: Record<string, unknown> } {
  return {
    specversion: '1.0',
    type: 'io.flopwatch.gpu.usage.v1',
    source: 'slurm://cluster-a',
    id: 'cluster-a/123456/2026-11-20T10:05:00Z',
    time: '2026-11-20T10:06:00Z',
    subject: 'tenant-42',
    data: {
      tenantId: 'tenant-42',
      jobId: '123456',
      cluster: { id: 'cluster-a', region: 'us-east-1', country: 'US' },
      accelerator: { model: 'nvidia-h100-sxm5-80gb', count: 512 },
      interval: { start: '2026-11-20T10:05:00Z', end: '2026-11-20T10:06:00Z' },
      precision: 'bf16',
      utilization: { tensorActive: 0.41 },
      operations: null,
      lineage: { id: 'tenant-42/model-x', parentId: null, checkpointIn: 'sha256:aa', checkpointOut: 'sha256:bb' },
      labels: { purpose: 'pretraining' },
    },
  };
}
