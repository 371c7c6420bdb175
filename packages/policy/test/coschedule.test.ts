import { describe, expect, it } from 'vitest';
import { analyseCoscheduling, DEFAULT_COSCHEDULE, poissonTail, type JobShape } from '../src/index.js';

// Co-scheduling over generated cluster traffic. Figures are the test's own arithmetic over the jobs it
// made: the planted pair's matches and its chance mean Σ n_a·n_b·(2w+1)/T.

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PERIOD = 14 * 24 * 60; // two weeks of minutes
const SHAPES = ['h100×8', 'h100×16', 'a100×8', 'h100×64'];

/** Independent tenants: each starts jobs uniformly over the period, shapes and durations at random. */
function background(seed: number, tenants: number, jobsEach: number): JobShape[] {
  const r = rng(seed);
  const out: JobShape[] = [];
  for (let t = 0; t < tenants; t++) {
    for (let j = 0; j < jobsEach; j++) {
      const startMin = Math.floor(r() * PERIOD);
      out.push({ tenantId: `bg-${t}`, jobId: `bg-${t}-${j}`, startMin, endMin: startMin + 30 + Math.floor(r() * 600), shape: SHAPES[Math.floor(r() * SHAPES.length)]! });
    }
  }
  return out;
}

describe('co-scheduling analysis', () => {
  it('finds two tenants that start and end six jobs together among background traffic, with the chance figures of the test', () => {
    const jobs = background(7, 30, 40);
    const r = rng(99);
    // Shell A and shell B: six runs each started and stopped within a minute of each other, on a shape
    // the background never uses; plus each one's own jobs on other shapes.
    for (let i = 0; i < 6; i++) {
      const start = 1000 + i * 3000;
      const length = 200 + Math.floor(r() * 300);
      jobs.push({ tenantId: 'shell-a', jobId: `a-${i}`, startMin: start, endMin: start + length, shape: 'h200×128' });
      jobs.push({ tenantId: 'shell-b', jobId: `b-${i}`, startMin: start + 1, endMin: start + length - 1, shape: 'h200×128' });
    }
    // Two independent tenants with the same traffic (six jobs each of one shape) at independent times.
    for (let i = 0; i < 6; i++) {
      const s1 = Math.floor(r() * PERIOD);
      const s2 = Math.floor(r() * PERIOD);
      jobs.push({ tenantId: 'indep-a', jobId: `ia-${i}`, startMin: s1, endMin: s1 + 300, shape: 'b200×128' });
      jobs.push({ tenantId: 'indep-b', jobId: `ib-${i}`, startMin: s2, endMin: s2 + 300, shape: 'b200×128' });
    }
    const out = analyseCoscheduling({ 'cluster-1': jobs }, [], DEFAULT_COSCHEDULE);
    const suspected = out.filter((o) => o.suspected).map((o) => o.pair.tenants);
    expect(suspected).toEqual([['shell-a', 'shell-b']]);

    const shells = out.find((o) => o.pair.tenants.join() === 'shell-a,shell-b')!.pair;
    const starts = jobs.map((j) => j.startMin);
    const period = Math.max(...starts) - Math.min(...starts) + 1;
    const w = DEFAULT_COSCHEDULE.windowMinutes;
    const expected = (6 * 6 * (2 * w + 1)) / period;
    const tenants = 30 + 4;
    expect(shells.matched).toBe(6);
    expect(shells.matches.map((m) => [m.a.jobId, m.b.jobId])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [`a-${i}`, `b-${i}`]));
    expect(shells.expected).toBeCloseTo(expected, 12);
    // P(X ≥ 6), X ~ Poisson(expected): 1 − Σ_{i<6} e^−λ λ^i / i!, computed here term by term.
    let below = 0;
    let term = Math.exp(-expected);
    for (let i = 0; i < 6; i++) {
      below += term;
      term *= expected / (i + 1);
    }
    const leading = (Math.exp(-expected) * expected ** 6) / 720;
    expect(shells.pValue).toBeGreaterThanOrEqual(leading);
    expect(shells.pValue).toBeLessThan(leading * 1.01);
    expect(Math.abs(shells.pValue - (1 - below))).toBeLessThan(1e-12);
    expect(shells.pairsTested).toBe((tenants * (tenants - 1)) / 2);
    expect(shells.adjustedPValue).toBeCloseTo(shells.pValue * shells.pairsTested, 20);
    expect(shells.reasons).toEqual(['co-scheduled']);
  });

  it('a checkpoint hand-off between two tenants is a suspicion on its own; within one tenant it is none', () => {
    const out = analyseCoscheduling({}, [
      { checkpoint: 'ck-1', lineageId: 'l-b', tenantId: 'b', parentLineageId: 'l-a', parentTenantId: 'a' },
      { checkpoint: 'ck-2', lineageId: 'l-c2', tenantId: 'c', parentLineageId: 'l-c1', parentTenantId: 'c' },
    ]);
    expect(out.map((o) => [o.pair.tenants, o.suspected, o.pair.reasons, o.pair.handoffs.map((h) => h.checkpoint)])).toEqual([[['a', 'b'], true, ['checkpoint-handoff'], ['ck-1']]]);
    expect(analyseCoscheduling({}, [{ checkpoint: 'ck-1', lineageId: 'l-b', tenantId: 'b', parentLineageId: 'l-a', parentTenantId: 'a' }], { ...DEFAULT_COSCHEDULE, minHandoffs: 0 })[0]!.suspected).toBe(false);
  });

  it('false links on independent random traffic: none in 40 populations of 30 tenants (17,400 tenant pairs), and the raw p-values are conservative', () => {
    let falseLinks = 0;
    let pairs = 0;
    let rawBelow5pct = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const out = analyseCoscheduling({ c: background(seed * 101, 30, 40) }, []);
      falseLinks += out.filter((o) => o.suspected).length;
      pairs += (30 * 29) / 2;
      rawBelow5pct += out.filter((o) => o.pair.pValue <= 0.05).length;
    }
    expect(pairs).toBe(40 * 435);
    // Bonferroni at 1e-3 bounds the chance of any false link per population by 1e-3: 40 populations → 0.
    expect(falseLinks).toBe(0);
    // Raw p ≤ 0.05 among pairs on independent traffic: at most 5 % if the chance model is calibrated
    // or conservative (ends are not in the mean).
    expect(rawBelow5pct / pairs).toBeLessThanOrEqual(0.05);
  });

  it('poissonTail agrees with 1 − CDF where the CDF is exact', () => {
    for (const [k, mean] of [[1, 0.5], [3, 2], [10, 4]] as const) {
      let cdf = 0;
      let term = Math.exp(-mean);
      for (let i = 0; i < k; i++) {
        cdf += term;
        term *= mean / (i + 1);
      }
      expect(poissonTail(k, mean)).toBeCloseTo(1 - cdf, 12);
    }
    expect(poissonTail(0, 3)).toBe(1);
  });
});
