import { describe, expect, it } from 'vitest';
import { ContractError, expandHostlist, gpusFromTres, nodeShares, slurmRecordToUsageEvents, splitGpus, type SlurmMapping } from '../src/index.js';

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
    const events = slurmRecordToUsageEvents(record({ nodes: undefined }), mapping, { maxIntervalSeconds: 3600 });
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

  it('reports a job with a node list per node: each node its even share, ids naming the node, the shares adding up to the job', () => {
    // 64 GPUs over gpu[001-008]: 8 per node; 10 GPUs over three nodes: 3.334 + 3.333 + 3.333.
    const events = slurmRecordToUsageEvents(record({ '@end': '2026-11-20T10:30:00Z' }), mapping, { maxIntervalSeconds: 3600 });
    const names = ['001', '002', '003', '004', '005', '006', '007', '008'].map((n) => `gpu${n}`);
    expect(events.map((e) => e.data.node)).toEqual(names);
    expect(events.map((e) => e.id)).toEqual(names.map((n) => `cluster-a/123456/${n}/2026-11-20T10:00:00Z`));
    expect(events.every((e) => e.data.accelerator.count === 8 && e.data.interval.end === '2026-11-20T10:30:00Z')).toBe(true);

    const uneven = slurmRecordToUsageEvents(record({ nodes: 'a[1-2],b7', tres_alloc: 'gres/gpu=10', '@end': '2026-11-20T13:00:00Z' }), mapping, { maxIntervalSeconds: 3600 });
    // Three hours in pieces of one hour, each piece once per node.
    expect(uneven).toHaveLength(9);
    expect(uneven.slice(0, 3).map((e) => [e.data.node, e.data.accelerator.count])).toEqual([['a1', 3.334], ['a2', 3.333], ['b7', 3.333]]);
    const thousandths = uneven.slice(0, 3).reduce((a, e) => a + Math.round(e.data.accelerator.count * 1000), 0);
    expect(thousandths).toBe(10 * 1000);
    expect(new Set(uneven.map((e) => e.id)).size).toBe(9);
  });

  it('reports a record without a node list (or an empty one) whole, without a node', () => {
    for (const nodes of [undefined, '']) {
      const events = slurmRecordToUsageEvents(record({ nodes, '@end': '2026-11-20T10:30:00Z' }), mapping, { maxIntervalSeconds: 3600 });
      expect(events).toHaveLength(1);
      expect(events[0]!.data.node).toBeUndefined();
      expect(events[0]!.data.accelerator.count).toBe(64);
      expect(events[0]!.id).toBe('cluster-a/123456/2026-11-20T10:00:00Z');
    }
  });

  it('gives the same events when a record is delivered twice', () => {
    const options = { maxIntervalSeconds: 600, source: 'slurm://site-1' };
    expect(slurmRecordToUsageEvents(record(), mapping, options)).toEqual(slurmRecordToUsageEvents(record(), mapping, options));
  });

  it('uses the partition precision and reads local times as UTC', () => {
    const events = slurmRecordToUsageEvents(record({ partition: 'fp8', nodes: 'gpu001', '@start': '2026-11-20T10:00:00', '@end': '2026-11-20T10:10:00' }), mapping, { maxIntervalSeconds: 3600 });
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
    ['an unreadable node list', record({ nodes: 'gpu[01-' }), 'invalid_slurm_record'],
  ])('refuses %s with code %s', (_name, input, code) => {
    expect(codeOf(() => slurmRecordToUsageEvents(input, mapping, { maxIntervalSeconds: 3600 }))).toBe(code);
  });
});

describe('expandHostlist', () => {
  it.each<[string, string[] | undefined]>([
    ['gpu[01-03,07],cpu5', ['gpu01', 'gpu02', 'gpu03', 'gpu07', 'cpu5']],
    ['fwnode1', ['fwnode1']],
    ['n[8-11]', ['n8', 'n9', 'n10', 'n11']],
    ['n[08-11]', ['n08', 'n09', 'n10', 'n11']],
    ['rack[1-2]-n[1-2]', ['rack1-n1', 'rack1-n2', 'rack2-n1', 'rack2-n2']],
    ['a[1],b[3-3]x', ['a1', 'b3x']],
    ['', []],
    ['gpu[01-', undefined],
    ['gpu[3-1]', undefined],
    ['gpu[a-b]', undefined],
    ['gpu]1[', undefined],
    ['gpu[1-[2]]', undefined],
    ['n[0-999999]', undefined],
  ])('expands %s', (text, expected) => {
    expect(expandHostlist(text)).toEqual(expected);
  });
});

describe('splitGpus', () => {
  it('splits evenly in thousandths, the parts adding up exactly to the total', () => {
    for (const [total, nodes] of [[8, 1], [8, 3], [10, 3], [1, 7], [0.5, 3], [64, 8], [7.001, 6], [3, 4000]] as const) {
      const names = Array.from({ length: nodes }, (_, i) => `n${i}`);
      const parts = splitGpus(total, names);
      const units = parts.map((p) => Math.round(p.gpus * 1000));
      // Every part a whole number of thousandths, no two parts more than one thousandth apart.
      expect(parts.every((p, i) => Math.abs(p.gpus * 1000 - units[i]!) < 1e-9)).toBe(true);
      expect(units.reduce((a, b) => a + b, 0), `${total} over ${nodes}`).toBe(Math.round(total * 1000));
      expect(Math.max(...units) - Math.min(...units)).toBeLessThanOrEqual(1);
      expect(parts.length).toBe(Math.min(nodes, Math.round(total * 1000)));
    }
    expect(splitGpus(10, ['a', 'b', 'c']).map((p) => p.gpus)).toEqual([3.334, 3.333, 3.333]);
    expect(splitGpus(0.002, ['a', 'b', 'c']).map((p) => p.node)).toEqual(['a', 'b']);
  });

  it('takes each node\'s GPUs from gres_detail when it has one entry per node, else splits the total', () => {
    expect(nodeShares('g[1-2]', 5, ['gpu:h100:3(IDX:0-2)', 'gpu:h100:2(IDX:0-1)'])).toEqual([{ node: 'g1', gpus: 3 }, { node: 'g2', gpus: 2 }]);
    expect(nodeShares('g[1-3]', 4, ['gpu:h100:4(IDX:0-3)', '(null)', 'gpu:a100:0'])).toEqual([{ node: 'g1', gpus: 4 }]);
    expect(nodeShares('g[1-2]', 5, [])).toEqual([{ node: 'g1', gpus: 2.5 }, { node: 'g2', gpus: 2.5 }]);
    expect(nodeShares('g[1-2]', 5, ['gpu:h100:5(IDX:0-4)'])).toEqual([{ node: 'g1', gpus: 2.5 }, { node: 'g2', gpus: 2.5 }]);
    expect(nodeShares('', 5)).toBeUndefined();
    expect(nodeShares('g[1-', 5)).toBeUndefined();
  });
});
