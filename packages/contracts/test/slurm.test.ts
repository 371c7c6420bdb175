import { describe, expect, it } from 'vitest';
import { ContractError, gpusFromTres, slurmRecordToUsageEvents, type SlurmMapping } from '../src/index.js';

const mapping: SlurmMapping = {
  partitions: { gpu: { accelerator: 'nvidia-h100-sxm5-80gb' }, fp8: { accelerator: 'nvidia-h200-sxm-141gb', precision: 'fp8' } },
  clusters: { 'cluster-a': { country: 'US', region: 'us-east-1' } },
};

function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jobid: 123456,
    account: 'tenant-42',
    cluster: 'cluster-a',
    partition: 'gpu',
    '@start': '2026-11-20T10:00:00Z',
    '@end': '2026-11-20T12:30:00Z',
    elapsed: 9000,
    tres_alloc: 'cpu=64,mem=512G,node=8,billing=64,gres/gpu=64',
    state: 'COMPLETED',
    nodes: 'gpu[001-008]',
    ...overrides,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ContractError ? err.code : 'not a ContractError';
  }
  return undefined;
}

describe('gpusFromTres', () => {
  it.each<[string | undefined, number | undefined]>([
    ['cpu=64,mem=512G,node=8,billing=64,gres/gpu=64', 64],
    ['cpu=8,gres/gpu:h100=8', 8],
    ['gres/gpu=16,gres/gpu:h100=16', 16],
    ['gres/gpu:a100=4,gres/gpu:h100=8', 12],
    ['cpu=64,mem=512G', 0],
    ['', 0],
    [undefined, 0],
    ['gres/gpu=lots', undefined],
  ])('reads %s as %s GPUs', (tres, expected) => {
    expect(gpusFromTres(tres)).toBe(expected);
  });
});

describe('slurmRecordToUsageEvents', () => {
  it('splits a 2.5 h job into contiguous events no longer than the policy allows', () => {
    const events = slurmRecordToUsageEvents(record(), mapping, { maxIntervalSeconds: 3600 });
    expect(events.map((e) => [e.data.interval.start, e.data.interval.end])).toEqual([
      ['2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z'],
      ['2026-11-20T11:00:00Z', '2026-11-20T12:00:00Z'],
      ['2026-11-20T12:00:00Z', '2026-11-20T12:30:00Z'],
    ]);
    expect(events.map((e) => e.id)).toEqual(['cluster-a/123456/2026-11-20T10:00:00Z', 'cluster-a/123456/2026-11-20T11:00:00Z', 'cluster-a/123456/2026-11-20T12:00:00Z']);
    const first = events[0]!;
    expect(first.source).toBe('slurm://cluster-a');
    expect(first.data).toMatchObject({ tenantId: 'tenant-42', jobId: '123456', accelerator: { model: 'nvidia-h100-sxm5-80gb', count: 64 }, precision: 'bf16', cluster: { id: 'cluster-a', country: 'US', region: 'us-east-1' } });
  });

  it('gives the same events when a record is delivered twice', () => {
    const options = { maxIntervalSeconds: 600, source: 'slurm://site-1' };
    expect(slurmRecordToUsageEvents(record(), mapping, options)).toEqual(slurmRecordToUsageEvents(record(), mapping, options));
  });

  it('uses the partition precision and reads local times as UTC', () => {
    const events = slurmRecordToUsageEvents(record({ partition: 'fp8', '@start': '2026-11-20T10:00:00', '@end': '2026-11-20T10:10:00' }), mapping, { maxIntervalSeconds: 3600 });
    expect(events).toHaveLength(1);
    expect(events[0]!.data.precision).toBe('fp8');
    expect(events[0]!.data.interval).toEqual({ start: '2026-11-20T10:00:00Z', end: '2026-11-20T10:10:00Z' });
  });

  it.each([
    ['a CPU-only job', { tres_alloc: 'cpu=64,mem=512G,node=1' }],
    ['a job cancelled before it started', { '@end': '2026-11-20T10:00:00Z', elapsed: 0 }],
  ])('yields no events for %s', (_name, overrides) => {
    expect(slurmRecordToUsageEvents(record(overrides), mapping, { maxIntervalSeconds: 3600 })).toEqual([]);
  });

  it.each([
    ['an unmapped partition', record({ partition: 'debug' }), 'unmapped_partition'],
    ['an unmapped cluster', record({ cluster: 'cluster-z' }), 'unmapped_cluster'],
    ['a record without jobid', record({ jobid: undefined }), 'invalid_slurm_record'],
    ['an unreadable GPU count', record({ tres_alloc: 'gres/gpu=many' }), 'invalid_slurm_record'],
    ['an account that is not a printable id', record({ account: 'team a' }), 'invalid_slurm_record'],
  ])('refuses %s with code %s', (_name, input, code) => {
    expect(codeOf(() => slurmRecordToUsageEvents(input, mapping, { maxIntervalSeconds: 3600 }))).toBe(code);
  });
});
