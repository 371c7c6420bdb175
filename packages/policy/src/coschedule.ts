// Behavioural links (docs/detection.md): tenants that run together. From telemetry alone —
// per cluster, each job's start and end minute and its shape (accelerator model, GPUs per report) —
// two tenants whose jobs start and end within the same minutes with the same shape, repeatedly, more
// often than the cluster's traffic makes likely by chance, are a suspected link; so are two tenants
// one of which resumed a checkpoint the other wrote. Pure: the store keeps the job records, this
// module only reads them.

import type { Handoff, JobShape, MatchedJobs, PairEvidence } from '@flopwatch/contracts';

export type { Handoff, JobShape, MatchedJobs, PairEvidence };

export interface CoscheduleOptions {
  /** Two jobs match when their starts and their ends are each at most this many minutes apart. */
  windowMinutes: number;
  /** Fewest matched job pairs for a co-scheduling suspicion. */
  minMatches: number;
  /**
   * Largest chance probability (Bonferroni-adjusted over every tenant pair that shares a cluster) for
   * a co-scheduling suspicion: the family-wise rate of false links on independent traffic.
   */
  maxPValue: number;
  /** Fewest checkpoint hand-offs between two tenants that make a suspicion on their own (0: never). */
  minHandoffs: number;
}

export const DEFAULT_COSCHEDULE: CoscheduleOptions = { windowMinutes: 2, minMatches: 4, maxPValue: 1e-3, minHandoffs: 1 };

export const KEPT_MATCHES = 50;

/** P(X ≥ k) for X ~ Poisson(mean), summed from k upward in log space (exact for tiny tails). */
export function poissonTail(k: number, mean: number): number {
  if (k <= 0) return 1;
  if (mean <= 0) return 0;
  let logTerm = -mean + k * Math.log(mean) - logFactorial(k);
  let sum = 0;
  for (let i = k; i < k + 10_000; i++) {
    const term = Math.exp(logTerm);
    sum += term;
    if (term < sum * 1e-15 && i > mean) break;
    logTerm += Math.log(mean) - Math.log(i + 1);
  }
  return Math.min(1, sum);
}

function logFactorial(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

/**
 * Tenant pairs that ran together, with their evidence: every pair with at least one match or hand-off,
 * `suspected` true when it passes the options' thresholds.
 *
 * Chance: on one cluster observed over T minutes, a job of tenant a and a job of tenant b with the same
 * shape start within ±w minutes of each other with probability (2w+1)/T if they start independently and
 * uniformly; the expected number of such pairs is Σ_shape n_a(shape)·n_b(shape)·(2w+1)/T, summed over
 * clusters. Ends are not required in this mean (only in the matches), so the mean is an over-estimate
 * and the p-value conservative.
 */
export function analyseCoscheduling(clusters: Record<string, JobShape[]>, handoffs: Handoff[], options: CoscheduleOptions = DEFAULT_COSCHEDULE): { pair: PairEvidence; suspected: boolean }[] {
  const w = options.windowMinutes;
  const found = new Map<string, { matches: MatchedJobs[]; matched: number; expected: number; handoffs: Handoff[] }>();
  const entry = (a: string, b: string) => {
    const key = pairKey(a, b);
    let e = found.get(key);
    if (!e) found.set(key, (e = { matches: [], matched: 0, expected: 0, handoffs: [] }));
    return e;
  };
  let pairsTested = 0;
  const expectedOf = new Map<string, number>();
  for (const [cluster, jobs] of Object.entries(clusters)) {
    if (jobs.length === 0) continue;
    const sorted = [...jobs].sort((x, y) => x.startMin - y.startMin || x.tenantId.localeCompare(y.tenantId) || x.jobId.localeCompare(y.jobId));
    const period = Math.max(1, sorted.at(-1)!.startMin - sorted[0]!.startMin + 1);
    // n_tenant(shape): the chance model's counts.
    const counts = new Map<string, Map<string, number>>();
    for (const j of sorted) {
      const byShape = counts.get(j.tenantId) ?? new Map<string, number>();
      byShape.set(j.shape, (byShape.get(j.shape) ?? 0) + 1);
      counts.set(j.tenantId, byShape);
    }
    const tenants = [...counts.keys()];
    pairsTested += (tenants.length * (tenants.length - 1)) / 2;
    // Candidates in start order, each job used once per tenant pair (a greedy one-to-one matching).
    const used = new Map<string, Set<string>>();
    for (let i = 0; i < sorted.length; i++) {
      const x = sorted[i]!;
      for (let k = i + 1; k < sorted.length && sorted[k]!.startMin - x.startMin <= w; k++) {
        const y = sorted[k]!;
        if (y.tenantId === x.tenantId || y.shape !== x.shape || Math.abs(y.endMin - x.endMin) > w) continue;
        const key = pairKey(x.tenantId, y.tenantId);
        const u = used.get(key) ?? new Set<string>();
        used.set(key, u);
        const ux = `${x.tenantId}\u0000${x.jobId}`;
        const uy = `${y.tenantId}\u0000${y.jobId}`;
        if (u.has(ux) || u.has(uy)) continue;
        u.add(ux);
        u.add(uy);
        const [a, b] = x.tenantId < y.tenantId ? [x, y] : [y, x];
        const e = entry(a.tenantId, b.tenantId);
        e.matched++;
        if (e.matches.length < KEPT_MATCHES) {
          e.matches.push({ cluster, shape: x.shape, a: { jobId: a.jobId, startMin: a.startMin, endMin: a.endMin }, b: { jobId: b.jobId, startMin: b.startMin, endMin: b.endMin } });
        }
      }
    }
    // The chance mean of the pairs that matched here (other pairs are not reported).
    for (const key of used.keys()) {
      const [a, b] = key.split('\u0000') as [string, string];
      const ca = counts.get(a)!;
      const cb = counts.get(b)!;
      let mean = 0;
      for (const [shape, n] of ca) mean += n * (cb.get(shape) ?? 0);
      expectedOf.set(key, (expectedOf.get(key) ?? 0) + (mean * (2 * w + 1)) / period);
    }
  }
  for (const h of handoffs) if (h.tenantId !== h.parentTenantId) entry(h.tenantId, h.parentTenantId).handoffs.push(h);

  const tests = Math.max(1, pairsTested);
  return [...found.entries()].map(([key, e]) => {
    const tenants = key.split('\u0000') as [string, string];
    const expected = expectedOf.get(key) ?? 0;
    const pValue = e.matched > 0 ? poissonTail(e.matched, expected) : 1;
    const adjustedPValue = Math.min(1, pValue * tests);
    const reasons: PairEvidence['reasons'] = [];
    if (e.matched >= options.minMatches && adjustedPValue <= options.maxPValue) reasons.push('co-scheduled');
    if (options.minHandoffs > 0 && e.handoffs.length >= options.minHandoffs) reasons.push('checkpoint-handoff');
    return { pair: { tenants, matches: e.matches, matched: e.matched, expected, pValue, adjustedPValue, pairsTested: tests, handoffs: e.handoffs, reasons }, suspected: reasons.length > 0 };
  }).sort((x, y) => x.pair.adjustedPValue - y.pair.adjustedPValue || x.pair.tenants.join().localeCompare(y.pair.tenants.join()));
}
