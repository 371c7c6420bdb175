import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@flopwatch/test-harness';
import { HOUR, kyc, packWithout, run, scenario, sorted, type Scenario } from './rules-scenario.js';

const open: Scenario[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
const start = async () => {
  const s = await scenario(packWithout('velocity', 'large-untrusted-cluster'));
  open.push(s);
  return s;
};
const T = Math.floor(Date.now() / HOUR) * HOUR - 80 * HOUR;
const REGIONS = ['US', 'DE', 'JP'];
const ACCOUNTS = ['acct-1', 'acct-2', 'acct-3', 'acct-4', 'acct-5'];
// 500,000 H100s at 50 % for 24 h = 2.14e25 per account (21 % of 10^26); five of them = 1.07e26.
const split = () => ACCOUNTS.flatMap((tenantId, i) => run({ tenantId, hours: 24, gpus: 500_000, startMs: T, country: (h) => REGIONS[(i + h) % 3]! }));

describe('structuring', () => {
  it('catches one run split across five linked accounts in US, DE and JP, each under 25 %, at every group level no account reached alone, while a verified US lab doing the same volume raises nothing', async () => {
    const s = await start();
    for (const id of ACCOUNTS) await s.store.registry.putTenant(kyc(id, { ultimateParent: { name: 'Hidden Holdings', country: 'SG' } }));
    await s.store.registry.putTenant(kyc('lab-us', { hqCountry: 'US', beneficialOwners: [{ name: 'Lab Founder', country: 'US' }] }));
    await s.send([...split(), ...run({ tenantId: 'lab-us', hours: 120, gpus: 500_000, startMs: T - 40 * HOUR })]);

    const group = (await s.store.registry.groupOf('acct-1'))!;
    expect(await s.summary()).toEqual(sorted([
      ...ACCOUNTS.map((a) => ['tenant-approach', a, 0.1, 'info']),
      ['structuring', group, 0.25, 'low'], ['structuring', group, 0.5, 'medium'], ['structuring', group, 0.8, 'high'],
      ['structuring', group, 0.9, 'high'], ['structuring', group, 1, 'critical'],
    ]));
    const top = (await s.alerts()).find((a) => a.rule === 'structuring' && a.level === 1)!;
    expect(top.scope).toBe('group');
    expect(top.observedOperations).toBeGreaterThanOrEqual(1e26);
    expect(top.evidence.contributingTenants.map((c) => c.tenantId).sort()).toEqual(ACCOUNTS);
    expect(Math.max(...top.evidence.contributingTenants.map((c) => c.operations))).toBeLessThan(0.25e26);
    expect(top.hardware.countries).toEqual(['DE', 'JP', 'US']);
    expect(top.evidence.topJobs.length).toBeGreaterThanOrEqual(5);
    expect(top.kyc?.reasons[0]).toMatch(/5 linked tenants .* across DE, JP, US/);
  });

  it('pulls past usage into a group when a KYC change links the accounts later, raising structuring without new telemetry', async () => {
    const s = await start();
    for (const id of ACCOUNTS) await s.store.registry.putTenant(kyc(id));
    await s.send(split());
    expect(await s.summary()).toEqual(sorted(ACCOUNTS.map((a) => ['tenant-approach', a, 0.1, 'info'])));

    for (const id of ACCOUNTS) await s.store.registry.putTenant(kyc(id, { identifiers: { paymentFingerprints: [], contactDomains: ['hidden.example'] } }));
    const group = (await s.store.registry.groupOf('acct-1'))!;
    await waitFor(async () => (await s.alerts()).filter((a) => a.rule === 'structuring').length === 5, { what: 'structuring alerts after the link', timeoutMs: 15_000 });
    expect((await s.summary()).filter((r) => r[0] === 'structuring')).toEqual(sorted([0.25, 0.5, 0.8, 0.9, 1].map((l) => ['structuring', group, l, l === 0.25 ? 'low' : l === 0.5 ? 'medium' : l === 1 ? 'critical' : 'high'])));
  });

  it('raises no structuring when one linked member alone carries every level the group reached', async () => {
    const s = await start();
    await s.store.registry.putTenant(kyc('big', { ultimateParent: { name: 'Same Parent', country: 'SG' } }));
    await s.store.registry.putTenant(kyc('small', { ultimateParent: { name: 'Same Parent', country: 'SG' } }));
    // big: 34 h = 3.03e25 (30 %); small: 6 h = 5.3e24; together 35.6 %: the 10 % and 25 % levels are big's own.
    await s.send([...run({ tenantId: 'big', hours: 34, gpus: 500_000, startMs: T }), ...run({ tenantId: 'small', hours: 6, gpus: 500_000, startMs: T })]);
    expect(await s.summary()).toEqual(sorted([['tenant-approach', 'big', 0.1, 'info'], ['tenant-approach', 'big', 0.25, 'low']]));
  });

  it('catches one lineage fed by three unlinked tenants at the levels none of them reached alone', async () => {
    const s = await start();
    const feeders = ['feed-a', 'feed-b', 'feed-c'];
    for (const id of feeders) await s.store.registry.putTenant(kyc(id));
    // 40 h each = 3.56e25 (35.6 %), 1.07e26 together on one lineage.
    await s.send(feeders.flatMap((tenantId) => run({ tenantId, hours: 40, gpus: 500_000, startMs: T, lineage: { id: 'shared/model' } })));
    expect(await s.summary()).toEqual(sorted([
      ...feeders.flatMap((t) => [['tenant-approach', t, 0.1, 'info'], ['tenant-approach', t, 0.25, 'low']]),
      ...[[0.1, 'info'], [0.25, 'low'], [0.5, 'medium'], [0.8, 'high'], [0.9, 'high'], [1, 'critical']].map(([l, sev]) => ['frontier-approach', 'shared/model', l, sev]),
      ['structuring', 'shared/model', 0.5, 'medium'], ['structuring', 'shared/model', 0.8, 'high'], ['structuring', 'shared/model', 0.9, 'high'], ['structuring', 'shared/model', 1, 'critical'],
    ]));
    const top = (await s.alerts()).find((a) => a.rule === 'structuring' && a.level === 1)!;
    expect(top.scope).toBe('lineage');
    expect(top.evidence.contributingTenants.map((c) => c.tenantId).sort()).toEqual(feeders);
  });
});
