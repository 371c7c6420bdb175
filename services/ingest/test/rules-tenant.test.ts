import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@flopwatch/test-harness';
import { HOUR, kyc, packWithout, run, scenario, sorted, type Scenario } from './rules-scenario.js';

const open: Scenario[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
const start = async (pack = packWithout('velocity', 'large-untrusted-cluster')) => {
  const s = await scenario(pack);
  open.push(s);
  return s;
};
const T = Math.floor(Date.now() / HOUR) * HOUR - 100 * HOUR;
const DAY_MS = 86_400_000;

describe('velocity', () => {
  it('projects the crossing date from the trailing 24 h burn, stays quiet while the date barely moves, and raises a narrower band when the burn jumps', async () => {
    const s = await start(packWithout('large-untrusted-cluster'));
    await s.store.registry.putTenant(kyc('fast'));
    await s.store.registry.putTenant(kyc('slow'));
    await s.store.registry.putTenant(kyc('lab-us', { hqCountry: 'US' }));
    // fast: 100,000 H100s = 4.27e24 a day → 10^26 in ≈ 22 days (≤ 30). slow: 60,000 → ≈ 38 days (beyond the horizon).
    await s.send([
      ...run({ tenantId: 'fast', hours: 24, gpus: 100_000, startMs: T }),
      ...run({ tenantId: 'slow', hours: 24, gpus: 60_000, startMs: T }),
      ...run({ tenantId: 'lab-us', hours: 24, gpus: 1_000_000, startMs: T }),
    ]);
    expect(await s.summary()).toEqual([['velocity', 'fast', 1, 'medium']]);
    const first = (await s.alerts())[0]!;
    const days = (Date.parse(first.projectedCrossingAt!) - (T + 24 * HOUR)) / DAY_MS;
    expect(days).toBeGreaterThan(21);
    expect(days).toBeLessThan(23);
    expect(first.kyc?.reasons[0]).toMatch(/reaches 1\.00e26 in 22\.\d days \(within 30\)/);

    await s.send(run({ tenantId: 'fast', jobId: 'fast-more', hours: 12, gpus: 100_000, startMs: T + 24 * HOUR }));
    expect(await s.summary()).toEqual([['velocity', 'fast', 1, 'medium']]);

    // 1,000,000 H100s for a day: 4.9e25 counted, 4.27e25 a day → ≈ 1.2 days left (≤ 2).
    await s.send(run({ tenantId: 'fast', jobId: 'fast-big', hours: 24, gpus: 1_000_000, startMs: T + 36 * HOUR }));
    const velocity = (await s.alerts()).filter((a) => a.rule === 'velocity').sort((a, b) => a.level - b.level);
    const levels = velocity.map((a) => a.level);
    expect(levels[0]).toBe(1);
    expect(levels.at(-1)).toBe(4);
    expect(velocity.at(-1)!.severity).toBe('critical');
    for (let i = 1; i < velocity.length; i++) expect(Date.parse(velocity[i]!.projectedCrossingAt!)).toBeLessThan(Date.parse(velocity[i - 1]!.projectedCrossingAt!));
    expect((await s.alerts()).filter((a) => a.subject !== 'fast')).toEqual([]);
  });
});

describe('large-untrusted-cluster', () => {
  it('fires once when an untrusted tenant holds 2,000 H100s at once across two jobs, and not for 1,600 nor for a verified US lab with 5,000', async () => {
    const s = await start(packWithout('velocity'));
    for (const id of ['big', 'under']) await s.store.registry.putTenant(kyc(id));
    await s.store.registry.putTenant(kyc('lab-us', { hqCountry: 'US' }));
    await s.send([
      ...run({ tenantId: 'big', jobId: 'a', hours: 2, gpus: 1200, startMs: T }),
      ...run({ tenantId: 'big', jobId: 'b', hours: 2, gpus: 800, startMs: T }),
      ...run({ tenantId: 'under', jobId: 'a', hours: 2, gpus: 800, startMs: T }),
      ...run({ tenantId: 'under', jobId: 'b', hours: 2, gpus: 800, startMs: T }),
      ...run({ tenantId: 'lab-us', hours: 2, gpus: 5000, startMs: T }),
    ]);
    expect(await s.summary()).toEqual([['large-untrusted-cluster', 'big', 1, 'high']]);
    const alert = (await s.alerts())[0]!;
    expect(alert.threshold).toBe(1699);
    expect(alert.evidence.topJobs.map((j) => j.jobId)).toEqual(['cluster-a/a', 'cluster-a/b']);
    expect(alert.kyc?.reasons[0]).toContain('holds 2000 H100-equivalents');
  });
});

describe('unverified-at-scale and parent-in-tier3', () => {
  it('flags a pending tenant past 10^23 on Tier 1 H100s and a Tier 3-owned tenant past 10^21, and neither below the floors nor on Tier 2 hardware', async () => {
    const s = await start();
    await s.store.registry.putTenant(kyc('pending-us', { hqCountry: 'US', kycStatus: 'pending' }));
    await s.store.registry.putTenant(kyc('pending-small', { hqCountry: 'US', kycStatus: 'pending' }));
    await s.store.registry.putTenant(kyc('pending-sg-hw', { hqCountry: 'US', kycStatus: 'pending' }));
    await s.store.registry.putTenant(kyc('cn-owned', { ultimateParent: { name: 'Dragon Holdings', country: 'CN' } }));
    await s.store.registry.putTenant(kyc('cn-small', { ultimateParent: { name: 'Other Dragon', country: 'CN' } }));
    await s.send([
      ...run({ tenantId: 'pending-us', hours: 8, gpus: 20_000, startMs: T }), // 2.85e23
      ...run({ tenantId: 'pending-small', hours: 2, gpus: 20_000, startMs: T }), // 7.1e22
      ...run({ tenantId: 'pending-sg-hw', hours: 8, gpus: 20_000, startMs: T, country: 'SG' }),
      ...run({ tenantId: 'cn-owned', hours: 1, gpus: 1000, startMs: T }), // 1.78e21
      ...run({ tenantId: 'cn-small', hours: 1, gpus: 500, startMs: T }), // 8.9e20
    ]);
    expect(await s.summary()).toEqual([['parent-in-tier3', 'cn-owned', 1, 'high'], ['unverified-at-scale', 'pending-us', 1, 'medium']]);
    const tier3 = (await s.alerts()).find((a) => a.rule === 'parent-in-tier3')!;
    expect(tier3.kyc).toMatchObject({ tenantId: 'cn-owned', tier: 3, ownerCountries: ['CN'] });
  });

  it('raises parent-in-tier3 from stored usage, without new telemetry, when the registry learns a tenant is Tier 3-owned', async () => {
    const s = await start();
    await s.store.registry.putTenant(kyc('later-cn', { hqCountry: 'US' }));
    await s.send(run({ tenantId: 'later-cn', hours: 1, gpus: 1000, startMs: T }));
    expect(await s.summary()).toEqual([]);
    await s.store.registry.putTenant(kyc('later-cn', { hqCountry: 'US', beneficialOwners: [{ name: 'Mr Z', country: 'RU' }] }));
    await waitFor(async () => (await s.alerts()).length > 0, { what: 'the re-evaluation to raise', timeoutMs: 15_000 });
    expect(sorted(await s.summary())).toEqual([['parent-in-tier3', 'later-cn', 1, 'high']]);
  });
});
