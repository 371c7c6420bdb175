import { describe, expect, it } from 'vitest';
import { createPeriodAggregator, type GpuObservation } from '../src/dcgm/aggregate.js';

const S = 15_000;
const P = 60_000;
const T0 = 1_800_000_000_000 - (1_800_000_000_000 % P); // a period boundary

const gpu = (g: string, value: number, over: Partial<GpuObservation> = {}): GpuObservation => ({
  node: 'n1', gpu: g, model: 'nvidia-h100-sxm5-80gb', tenantId: 't1', jobId: 'ns/pod', labels: {}, value, fallback: false, ...over,
});

describe('createPeriodAggregator', () => {
  it('reports one event per node and job for a fully observed period, with the mean over GPUs and slots', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    const values = [[0.2, 0.4], [0.3, 0.5], [0.1, 0.1], [0.6, 0.2]];
    values.forEach(([a, b], i) => agg.add(T0 + i * S + 7_000, [gpu('g0', a!), gpu('g1', b!)]));
    expect(agg.takeFinished(T0 + P - 1)).toEqual([]); // the period is still open
    const [report, ...rest] = agg.takeFinished(T0 + P);
    expect(rest).toEqual([]);
    expect(report).toMatchObject({ node: 'n1', jobId: 'ns/pod', startMs: T0, endMs: T0 + P, gpus: 2, fallback: false });
    expect(report!.tensorActive).toBeCloseTo((0.2 + 0.4 + 0.3 + 0.5 + 0.1 + 0.1 + 0.6 + 0.2) / 8, 12);
    expect(agg.pendingPeriods()).toBe(0);
  });

  it('leaves a gap of exactly the missed slot: two reports, neither covering it', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    for (const i of [0, 2, 3]) agg.add(T0 + i * S + 1, [gpu('g0', 0.5)]);
    const reports = agg.takeFinished(T0 + P);
    expect(reports.map((r) => [r.startMs - T0, r.endMs - T0, r.gpus])).toEqual([[0, S, 1], [2 * S, 4 * S, 1]]);
  });

  it('splits a run where the job gains a GPU, and keeps jobs and nodes apart', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    agg.add(T0 + 1, [gpu('g0', 0.5), gpu('g0', 0.9, { node: 'n2' }), gpu('g5', 0.1, { jobId: 'other' })]);
    agg.add(T0 + S + 1, [gpu('g0', 0.5), gpu('g1', 0.7)]);
    const reports = agg.takeFinished(T0 + P).map((r) => [r.node, r.jobId, r.startMs - T0, r.endMs - T0, r.gpus, r.tensorActive]);
    expect(reports).toEqual([
      ['n1', 'ns/pod', 0, S, 1, 0.5],
      ['n1', 'ns/pod', S, 2 * S, 2, 0.6],
      ['n2', 'ns/pod', 0, S, 1, 0.9],
      ['n1', 'other', 0, S, 1, 0.1],
    ]);
  });

  it('keeps the last sample of a GPU scraped twice in one slot, and flags a fallback utilization', () => {
    const agg = createPeriodAggregator({ slotMs: S, periodMs: P });
    agg.add(T0 + 1, [gpu('g0', 0.9, { fallback: true })]);
    agg.add(T0 + 2, [gpu('g0', 0.3, { fallback: true })]);
    expect(agg.takeFinished(Number.POSITIVE_INFINITY)).toMatchObject([{ startMs: T0, endMs: T0 + S, gpus: 1, tensorActive: 0.3, fallback: true }]);
  });

  it('refuses a period that is not a whole number of scrape intervals', () => {
    expect(() => createPeriodAggregator({ slotMs: 15_000, periodMs: 50_000 })).toThrow(/whole number/);
  });
});
