import { describe, expect, it } from 'vitest';
import { createPeriodAggregator, type GpuObservation } from '../src/dcgm/aggregate.js';

const S = 15_000;
const P = 60_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % P); // a period boundary

const H100 = 989.4e12;
const A100 = 312e12;
const gpu = (g: string, value: number, over: Partial<GpuObservation> = {}): GpuObservation => ({
  cluster: { id: 'c1', country: 'US' }, node: 'n1', gpu: g, model: 'nvidia-h100-sxm5-80gb', peakFlops: H100, milli: 1000, tenantId: 't1', jobId: 'ns/pod', labels: {}, value, fallback: false, ...over,
});

describe('createPeriodAggregator', () => {
  it('reports one event per node and job for a fully observed period, with the mean over GPUs and slots', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    const values = [[0.2, 0.4], [0.3, 0.5], [0.1, 0.1], [0.6, 0.2]];
    values.forEach(([a, b], i) => agg.add(T0 + i * S + 7_000, [gpu('g0', a!), gpu('g1', b!)]));
    expect(agg.takeFinished(T0 + P - 1)).toEqual([]); // the period is still open
    const [report, ...rest] = agg.takeFinished(T0 + P);
    expect(rest).toEqual([]);
    expect(report).toMatchObject({ node: 'n1', jobId: 'ns/pod', startMs: T0, endMs: T0 + P, milliGpus: 2000, fallback: false, models: {} });
    expect(report!.tensorActive).toBeCloseTo((0.2 + 0.4 + 0.3 + 0.5 + 0.1 + 0.1 + 0.6 + 0.2) / 8, 12);
    expect(report!.operations / 1e12).toBeCloseTo((H100 * 15 * (0.2 + 0.4 + 0.3 + 0.5 + 0.1 + 0.1 + 0.6 + 0.2)) / 1e12, 6);
    expect(agg.pendingPeriods()).toBe(0);
  });

  it('leaves a gap of exactly the missed slot: two reports, neither covering it', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    for (const i of [0, 2, 3]) agg.add(T0 + i * S + 1, [gpu('g0', 0.5)]);
    const reports = agg.takeFinished(T0 + P);
    expect(reports.map((r) => [r.startMs - T0, r.endMs - T0, r.milliGpus])).toEqual([[0, S, 1000], [2 * S, 4 * S, 1000]]);
  });

  it('splits a run where the job gains a GPU, and keeps jobs and nodes apart', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    agg.add(T0 + 1, [gpu('g0', 0.5), gpu('g0', 0.9, { node: 'n2' }), gpu('g5', 0.1, { jobId: 'other' })]);
    agg.add(T0 + S + 1, [gpu('g0', 0.5), gpu('g1', 0.7)]);
    const reports = agg.takeFinished(T0 + P).map((r) => [r.node, r.jobId, r.startMs - T0, r.endMs - T0, r.milliGpus, r.tensorActive]);
    expect(reports).toEqual([
      ['n1', 'ns/pod', 0, S, 1000, 0.5],
      ['n1', 'ns/pod', S, 2 * S, 2000, 0.6],
      ['n2', 'ns/pod', 0, S, 1000, 0.9],
      ['n1', 'other', 0, S, 1000, 0.1],
    ]);
  });

  it('keeps the last sample of a GPU scraped twice in one slot, and flags a fallback utilization', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    agg.add(T0 + 1, [gpu('g0', 0.9, { fallback: true })]);
    agg.add(T0 + 2, [gpu('g0', 0.3, { fallback: true })]);
    expect(agg.takeFinished(Number.POSITIVE_INFINITY)).toMatchObject([{ startMs: T0, endMs: T0 + S, milliGpus: 1000, tensorActive: 0.3, fallback: true }]);
  });

  it('keeps a job on one node with two GPU models as one report: the model of most GPUs, every GPU\'s operations', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    const a100 = { model: 'nvidia-a100-sxm4-80gb', peakFlops: A100 };
    for (const i of [0, 1]) agg.add(T0 + i * S + 1, [gpu('g0', 0.5), gpu('g1', 0.25, a100), gpu('g2', 0.75, a100)]);
    const [report, ...rest] = agg.takeFinished(T0 + P);
    expect(rest).toEqual([]);
    expect(report).toMatchObject({ model: 'nvidia-a100-sxm4-80gb', models: { 'nvidia-a100-sxm4-80gb': 2000, 'nvidia-h100-sxm5-80gb': 1000 }, milliGpus: 3000, startMs: T0, endMs: T0 + 2 * S });
    // Two slots of 15 s: the H100 at 0.5, the A100s at 0.25 and 0.75, each at its own peak.
    expect(report!.operations / 1e12).toBeCloseTo((2 * 15 * (H100 * 0.5 + A100 * 0.25 + A100 * 0.75)) / 1e12, 6);
  });

  it('reports a time-sliced share of a GPU at its thousandths, and splits a run where the share changes', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    agg.add(T0 + 1, [gpu('g0', 0.6, { milli: 500 })]);
    agg.add(T0 + S + 1, [gpu('g0', 0.6, { milli: 333 })]);
    const reports = agg.takeFinished(T0 + P).map((r) => [r.startMs - T0, r.milliGpus, r.operations / 1e12]);
    expect(reports).toEqual([
      [0, 500, (0.5 * H100 * 0.6 * 15) / 1e12],
      [S, 333, (0.333 * H100 * 0.6 * 15) / 1e12],
    ]);
  });

  it('refuses a period that is not a whole number of scrape intervals', () => {
    expect(() => createPeriodAggregator({ slotMs: 15_000, periodMs: 50_000 })).toThrow(/whole number/);
  });
});
