import type { UsageEvent } from '@flopwatch/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, OPS_PER_H100_HOUR, kyc, packWithout, run, scenario, type Scenario } from './rules-scenario.js';

// Disputed usage through the real ingest: a client that pre-covers each hour with a cheap report
// (8 GPUs at 1 %) has its real reports (100,000 H100s at 50 %) counted nothing; the disputed excess,
// 10 h × (100,000 × 50 % − 8 × 1 %) H100-hours of operations ≈ 1.8e24, passes the default pack's 1e24
// floor and its 1 % level. Sources that agree dispute nothing; sources one point of tensor-active
// apart dispute 3.6e22, below the floor.

const open: Scenario[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
const start = async () => {
  const s = await scenario(packWithout('velocity', 'large-untrusted-cluster', 'tenant-approach', 'unverified-at-scale', 'parent-in-tier3', 'frontier-approach', 'structuring', 'lineage-laundering', 'region-hopping'));
  open.push(s);
  return s;
};
const T = Math.floor(Date.now() / HOUR) * HOUR - 80 * HOUR;
const GPUS = 100_000;
const HOURS = 10;
const PEAK_HOUR = 989.4e12 * 3600;
const fmt = (ops: number) => ops.toExponential(2).replace('e+', 'e').replace('.', '\\.');
/** Equal to a billionth (the books count in whole tera-operations, rounded per report). */
const near = (actual: number | undefined, expected: number) => expect(Math.abs((actual ?? NaN) - expected) / expected).toBeLessThan(1e-9);

/** Each event preceded by another report of the same hour from a second source, changed by `as`. */
function preceded(events: UsageEvent[], as: (e: UsageEvent) => UsageEvent['data']): UsageEvent[] {
  return events.flatMap((e) => [{ ...e, id: `${e.id}/early`, source: 'sim://client-agent', data: as(e) }, e]);
}

describe('disputed usage', () => {
  it('flags a tenant that pre-covers its hours with cheap reports, with the conflicts in the evidence; not tenants whose sources agree or differ by one point', async () => {
    const s = await start();
    const rule = s.pack.rules['disputed-usage'];
    for (const id of ['precover', 'agree', 'differ']) await s.store.registry.putTenant(kyc(id, { hqCountry: 'SG' }));
    const real = (tenantId: string) => run({ tenantId, hours: HOURS, gpus: GPUS, startMs: T });
    await s.send([
      ...preceded(real('precover'), (e) => ({ ...e.data, accelerator: { ...e.data.accelerator, count: 8 }, utilization: { tensorActive: 0.01 } })),
      ...preceded(real('agree'), (e) => e.data),
      ...preceded(real('differ'), (e) => ({ ...e.data, utilization: { tensorActive: 0.49 } })),
    ]);
    const counted = HOURS * 8 * PEAK_HOUR * 0.01;
    const disputed = HOURS * GPUS * OPS_PER_H100_HOUR - counted;
    expect(disputed).toBeGreaterThanOrEqual(rule.minOperations);
    const differ = HOURS * GPUS * PEAK_HOUR * 0.01;
    expect(differ).toBeLessThan(rule.minOperations);
    expect(await s.summary()).toEqual([['disputed-usage', 'precover', 0.01, 'medium']]);
    const a = (await s.alerts())[0]!;
    expect(a.scope).toBe('tenant');
    expect(a.levelBasis).toEqual({ kind: 'fraction', fraction: 0.01 });
    near(a.observedOperations, counted + disputed);
    expect(a.kyc?.reasons[0]).toMatch(new RegExp(`^tenant precover stands at ${fmt(counted + disputed)} .* counting its disputed reports: ${fmt(counted)} counted .*; ${HOURS} conflicting reports over ${(HOURS * GPUS).toLocaleString('en-US')} GPU-hours dispute ${fmt(disputed)} .*; latest: cluster-a/precover-job .*counted .* vs reported .* tera-ops/ms`));
    // The books: 'precover' and 'differ' recorded conflicts; 'agree' none.
    const books = await Promise.all(['precover', 'agree', 'differ'].map((t) => s.store.books.tenantBooks(t)));
    expect(books.map((b) => b.conflicts?.count ?? 0)).toEqual([HOURS, 0, HOURS]);
    near(books[0]!.conflicts?.disputed.controlledTier1, disputed);
    near(books[2]!.conflicts?.disputed.controlledTier1, differ);
  });

  it('flags a group of linked tenants whose pre-covered runs dispute the floor together while each alone stays below it', async () => {
    const s = await start();
    const members = ['shell-1', 'shell-2'];
    for (const id of members) await s.store.registry.putTenant(kyc(id, { ultimateParent: { name: 'Hidden Holdings', country: 'SG' } }));
    // 4 h each: 4 × 100,000 × 50 % H100-hours = 7.1e23 apiece, under the 1e24 floor; 1.4e24 together.
    const hours = 4;
    const each = hours * GPUS * OPS_PER_H100_HOUR - hours * 8 * PEAK_HOUR * 0.01;
    expect(each).toBeLessThan(s.pack.rules['disputed-usage'].minOperations);
    expect(2 * each).toBeGreaterThanOrEqual(s.pack.rules['disputed-usage'].minOperations);
    await s.send(members.flatMap((tenantId) => preceded(run({ tenantId, hours, gpus: GPUS, startMs: T }), (e) => ({ ...e.data, accelerator: { ...e.data.accelerator, count: 8 }, utilization: { tensorActive: 0.01 } }))));
    const group = (await s.store.registry.groupOf('shell-1'))!;
    expect(await s.summary()).toEqual([['disputed-usage', group, 0.01, 'medium']]);
    const a = (await s.alerts())[0]!;
    expect(a.scope).toBe('group');
    near(a.observedOperations, 2 * hours * GPUS * OPS_PER_H100_HOUR);
    expect(a.evidence.contributingTenants.map((c) => c.tenantId).sort()).toEqual(members);
    expect(a.kyc?.reasons[0]).toMatch(new RegExp(`^2 linked tenants \\[shell-1, shell-2\\] stand at .*; ${2 * hours} conflicting reports over ${(2 * hours * GPUS).toLocaleString('en-US')} GPU-hours dispute ${fmt(2 * each)} `));
  });
});
