import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, OPS_PER_H100_HOUR, kyc, packWithout, run, scenario, sorted, type Scenario } from './rules-scenario.js';

// Region hopping through the real ingest: training that moves between Tier 1 and Tier 2 regions raises
// its own flag, tenant and lineage, with both parts in the evidence. Figures: 500,000 H100s × 10 h at
// 50 % = 8.9e24 operations per part, past the default pack's 5e24 floor for each.

const open: Scenario[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
const start = async () => {
  const s = await scenario(packWithout('velocity', 'large-untrusted-cluster', 'tenant-approach', 'unverified-at-scale', 'parent-in-tier3', 'frontier-approach', 'structuring', 'lineage-laundering'));
  open.push(s);
  return s;
};
const T = Math.floor(Date.now() / HOUR) * HOUR - 80 * HOUR;
const PART = 500_000 * 10 * OPS_PER_H100_HOUR;

describe('region hopping', () => {
  it('flags an untrusted tenant whose run moves half from the US to Singapore and back, with both parts; not one that stays in the US, nor a run whose Tier 2 part is below the floor', async () => {
    const s = await start();
    expect(PART).toBeGreaterThanOrEqual(s.pack.rules['region-hopping'].minOperations);
    for (const id of ['hopper', 'stayer', 'dipper']) await s.store.registry.putTenant(kyc(id, { hqCountry: 'SG' }));
    // hopper: 5 h US, 10 h SG, 5 h US. dipper: 20 h US, then 2 h in SG (1.8e24 < 5e24).
    const hop = (h: number) => (h >= 5 && h < 15 ? 'SG' : 'US');
    await s.send([
      ...run({ tenantId: 'hopper', hours: 20, gpus: 500_000, startMs: T, country: hop }),
      ...run({ tenantId: 'stayer', hours: 20, gpus: 500_000, startMs: T }),
      ...run({ tenantId: 'dipper', hours: 22, gpus: 500_000, startMs: T, country: (h) => (h >= 20 ? 'SG' : 'US') }),
    ]);
    expect(await s.summary()).toEqual([['region-hopping', 'hopper', 1, 'medium']]);
    const a = (await s.alerts())[0]!;
    expect(a.scope).toBe('tenant');
    expect(a.levelBasis).toEqual({ kind: 'limit', quantity: 'operations', observed: expect.closeTo(PART, -20) as number, limit: 5e24 });
    expect(a.hardware.tiers).toEqual([1, 2]);
    expect(a.hardware.countries).toEqual(['SG', 'US']);
    expect(a.evidence.measure?.split.byTier['1']).toBeCloseTo(PART, -20);
    expect(a.evidence.measure?.split.byTier['2']).toBeCloseTo(PART, -20);
    // The default measure sees the US half only.
    expect(a.evidence.measure?.split.controlledTier1).toBeCloseTo(PART, -20);
    expect(a.kyc?.reasons[0]).toMatch(/tenant hopper trained in Tier 1 and Tier 2 regions: 8\.9\de24 operations in Tier 1 \(US, 50 %\) and 8\.9\de24 in Tier 2 \(SG, 50 %\)/);
  });

  it('flags a lineage continued in a Tier 2 region by another tenant, with both parts, though neither tenant hopped', async () => {
    const s = await start();
    await s.store.registry.putTenant(kyc('lab-us', { hqCountry: 'US' }));
    await s.store.registry.putTenant(kyc('cont-sg', { hqCountry: 'SG' }));
    await s.send([
      ...run({ tenantId: 'lab-us', hours: 10, gpus: 500_000, startMs: T, lineage: { id: 'hop/model' } }),
      ...run({ tenantId: 'cont-sg', hours: 10, gpus: 500_000, startMs: T + 10 * HOUR, country: 'SG', lineage: { id: 'hop/model' } }),
    ]);
    expect(await s.summary()).toEqual(sorted([['region-hopping', 'hop/model', 1, 'medium']]));
    const a = (await s.alerts())[0]!;
    expect(a.scope).toBe('lineage');
    expect(a.evidence.contributingTenants.map((c) => c.tenantId).sort()).toEqual(['cont-sg', 'lab-us']);
    expect(a.kyc?.tenantId).toBe('cont-sg');
    expect(a.kyc?.reasons[0]).toMatch(/lineage hop\/model trained in Tier 1 and Tier 2 regions: .* in Tier 1 \(US, 50 %\) and .* in Tier 2 \(SG, 50 %\)/);
  });
});
