import { afterEach, describe, expect, it } from 'vitest';
import { describeLevel, type Lineage, type UsageEvent } from '@flopwatch/contracts';
import type { PolicyPack } from '@flopwatch/policy';
import { readExposure } from '../src/exposure.js';
import { defaultPack } from './helpers.js';
import { HOUR, OPS_PER_H100_HOUR, kyc, packWithout, run, scenario, sorted, type Scenario } from './rules-scenario.js';

// Through the real ingest (Kafka → apply → rules → alerts in Redis): what each rule counts, the
// lineage ancestry graph, velocity only narrowing, a stopped tenant's receding projection, and a group
// evaluated whichever member changed.

const open: Scenario[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
const start = async (pack: PolicyPack) => {
  const s = await scenario(pack);
  open.push(s);
  return s;
};
const T = Math.floor(Date.now() / HOUR) * HOUR - 120 * HOUR;
const DAY = 86_400_000;
const ALL = [[0.1, 'info'], [0.25, 'low'], [0.5, 'medium'], [0.8, 'high'], [0.9, 'high'], [1, 'critical']] as const;
const levels = (rule: string, subject: string, upTo: number) => ALL.filter(([l]) => l <= upTo).map(([l, sev]) => [rule, subject, l, sev]);
/** The default pack with every operations-measuring rule counting `measure`. */
const measuring = (measure: 'controlled' | 'all') => {
  const pack = defaultPack();
  for (const r of ['frontier-approach', 'tenant-approach', 'structuring', 'lineage-laundering', 'velocity', 'unverified-at-scale', 'parent-in-tier3'] as const) pack.rules[r].measure = measure;
  return pack;
};
const withParent = (events: UsageEvent[], parentId: string) => events.map((e) => ({ ...e, data: { ...e.data, lineage: { ...e.data.lineage!, parentId } } }));

describe('the Singapore case: an untrusted tenant with 1.2e26 on H100s in Singapore and one hour on 8 H100s in the US', () => {
  // 1,000,000 H100s × 68 h × 1.78e18 = 1.21e26 in Singapore (Tier 2); 8 H100s × 1 h = 1.42e19 in the US.
  const SG_OPS = 1_000_000 * 68 * OPS_PER_H100_HOUR;
  const US_OPS = 8 * OPS_PER_H100_HOUR;
  const events = () => [
    ...run({ tenantId: 'sg', jobId: 'sg-big', hours: 68, gpus: 1_000_000, startMs: T, country: 'SG', lineage: { id: 'sg/model' } }),
    ...run({ tenantId: 'sg', jobId: 'sg-us', hours: 1, gpus: 8, startMs: T + 68 * HOUR, country: 'US', lineage: { id: 'sg/model' } }),
  ];

  it('raises nothing under the default pack, which counts controlled hardware in Tier 1 countries', async () => {
    const s = await start(defaultPack());
    await s.store.registry.putTenant(kyc('sg'));
    await s.send(events());
    expect(await s.summary()).toEqual([]);
  });

  it('raises tenant-approach and frontier-approach at every level under a pack that counts controlled hardware anywhere, with the split in the evidence', async () => {
    const s = await start(measuring('controlled'));
    await s.store.registry.putTenant(kyc('sg'));
    await s.send(events());
    expect(await s.summary()).toEqual(sorted([...levels('tenant-approach', 'sg', 1), ...levels('frontier-approach', 'sg/model', 1)]));
    const top = (await s.alerts()).find((a) => a.rule === 'frontier-approach' && a.level === 1)!;
    expect(top.schemaVersion).toBe(2);
    expect(top.levelBasis).toEqual({ kind: 'fraction', fraction: 1 });
    expect(top.evidence.measure!.name).toBe('controlled');
    expect(top.evidence.measure!.operations).toBeCloseTo(SG_OPS + US_OPS, -8);
    expect(top.evidence.measure!.split.controlledTier1).toBeCloseTo(US_OPS, -8);
    expect(top.evidence.measure!.split.byTier['2']).toBeCloseTo(SG_OPS, -8);
    expect(Object.keys(top.evidence.measure!.split.byCountry).sort()).toEqual(['SG', 'US']);
  });
});

describe('lineage ancestry as a graph', () => {
  it('counts an ancestor found from another tenant\'s checkpoint although the lineage already declared a small parent, and raises lineage-laundering', async () => {
    const s = await start(packWithout('velocity', 'large-untrusted-cluster'));
    await s.store.registry.putTenant(kyc('lab-p', { hqCountry: 'US' }));
    await s.store.registry.putTenant(kyc('lab-o', { hqCountry: 'US' }));
    await s.store.registry.putTenant(kyc('shell-c'));
    // small/parent: 8 H100s × 1 h. big/child declares it, runs 20 h × 500,000; other/base (lab-o) runs
    // 40 h × 500,000 and writes ck-o; big/child then resumes from ck-o for 20 h × 500,000.
    await s.send([
      ...run({ tenantId: 'lab-p', jobId: 'p', hours: 1, gpus: 8, startMs: T, lineage: { id: 'small/parent' } }),
      ...withParent(run({ tenantId: 'shell-c', jobId: 'c1', hours: 20, gpus: 500_000, startMs: T + HOUR, lineage: { id: 'big/child' } }), 'small/parent'),
    ]);
    expect((await s.store.registry.getLineage<Lineage>('big/child'))?.parentId).toBe('small/parent');
    await s.send(run({ tenantId: 'lab-o', jobId: 'o', hours: 40, gpus: 500_000, startMs: T, lineage: { id: 'other/base', checkpointOut: 'ck-o' } }));
    await s.send(run({ tenantId: 'shell-c', jobId: 'c2', hours: 20, gpus: 500_000, startMs: T + 41 * HOUR, lineage: { id: 'big/child', checkpointIn: 'ck-o' } }));
    // The declared parent stands; the checkpoint link is an edge of the graph all the same.
    expect((await s.store.registry.getLineage<Lineage>('big/child'))?.parentId).toBe('small/parent');
    const child = 40 * 500_000 * OPS_PER_H100_HOUR; // 3.56e25
    const base = 40 * 500_000 * OPS_PER_H100_HOUR; // 3.56e25
    const parent = 8 * OPS_PER_H100_HOUR;
    const cumulative = child + base + parent; // 7.12e25: levels 0.1, 0.25, 0.5
    expect(cumulative).toBeGreaterThan(0.5e26);
    expect(cumulative).toBeLessThan(0.8e26);
    expect(await s.summary()).toEqual(sorted([
      ...levels('frontier-approach', 'big/child', 0.5), ...levels('lineage-laundering', 'big/child', 0.5),
      ...levels('tenant-approach', 'shell-c', 0.25),
    ]));
    const top = (await s.alerts()).find((a) => a.rule === 'lineage-laundering' && a.level === 0.5)!;
    expect(top.observedOperations).toBeCloseTo(cumulative, -10);
    expect(top.evidence.contributingTenants.map((c) => c.tenantId).sort()).toEqual(['lab-o', 'lab-p', 'shell-c']);
    expect(top.kyc?.reasons[0]).toContain('big/child started from checkpoint ck-o written by other/base');
  });
});

describe('velocity', () => {
  it('only narrows: a forecast moving from the 14-day band back into the 30-day band raises nothing', async () => {
    const s = await start(packWithout('tenant-approach', 'large-untrusted-cluster'));
    await s.store.registry.putTenant(kyc('v'));
    // 200,000 H100s for 24 h: 8.55e24 a day, (1e26 - 8.55e24) / 8.55e24 = 10.7 days → band 2 (≤ 14).
    await s.send(run({ tenantId: 'v', jobId: 'v1', hours: 24, gpus: 200_000, startMs: T }));
    expect(await s.summary()).toEqual([['velocity', 'v', 2, 'high']]);
    // Then 100,000 for 24 h: 4.27e24 a day, 1.28e25 counted, 20.4 days left → band 1 (≤ 30): wider, not raised.
    await s.send(run({ tenantId: 'v', jobId: 'v2', hours: 24, gpus: 100_000, startMs: T + 24 * HOUR }));
    const perDay = 24 * 100_000 * OPS_PER_H100_HOUR;
    const days = (1e26 - 24 * 300_000 * OPS_PER_H100_HOUR) / perDay;
    expect(days).toBeGreaterThan(14);
    expect(days).toBeLessThan(30);
    expect(await s.summary()).toEqual([['velocity', 'v', 2, 'high']]);
  });
});

describe('a stopped tenant', () => {
  it('sees its projected crossing recede as the books\' event time moves on, then vanish', async () => {
    const s = await start(packWithout('velocity', 'large-untrusted-cluster'));
    await s.store.registry.putTenant(kyc('stops'));
    await s.store.registry.putTenant(kyc('goes-on', { hqCountry: 'US' }));
    // 300,000 H100s for 24 h: 1.28e25 (tenant-approach 10 %), burning 1.28e25 a day.
    await s.send(run({ tenantId: 'stops', hours: 24, gpus: 300_000, startMs: T }));
    const total = 24 * 300_000 * OPS_PER_H100_HOUR;
    const exposure = async () => (await readExposure({ store: s.store, pack: s.pack })).subjects.find((x) => x.subject === 'stops' && x.rule === 'tenant-approach')!;
    const first = await exposure();
    expect(first.fraction).toBeCloseTo(total / 1e26, 6);
    expect(first.projectedCrossingMs).toBeCloseTo(T + 24 * HOUR + ((1e26 - total) / total) * DAY, -3);

    // Another tenant's usage moves the event time 12 h on: half the trailing 24 h is left.
    await s.send(run({ tenantId: 'goes-on', hours: 36, gpus: 8, startMs: T }));
    const later = await exposure();
    expect(later.projectedCrossingMs).toBeCloseTo(T + 36 * HOUR + ((1e26 - total) / (total / 2)) * DAY, -3);
    expect(later.projectedCrossingMs!).toBeGreaterThan(first.projectedCrossingMs!);

    // 26 h after it stopped: no burn left, no projection.
    await s.send(run({ tenantId: 'goes-on', jobId: 'more', hours: 14, gpus: 8, startMs: T + 36 * HOUR }));
    expect((await exposure()).projectedCrossingMs).toBeNull();
    expect(await s.summary()).toEqual([['tenant-approach', 'stops', 0.1, 'info']]);
  });
});

describe('groups', () => {
  it('are evaluated when any member changes, also one with no controlled Tier 1 usage', async () => {
    const pack = packWithout('velocity', 'large-untrusted-cluster');
    pack.rules.structuring.measure = 'controlled';
    const s = await start(pack);
    const shared = { identifiers: { paymentFingerprints: [], contactDomains: ['shell.example'] } };
    await s.store.registry.putTenant(kyc('ga', shared));
    await s.store.registry.putTenant(kyc('gb', shared));
    const groupId = await s.store.registry.groupOf('ga');
    expect(groupId).not.toBeNull();
    // ga: 340,000 H100s × 10 h in the US = 6.06e24; gb: the same in Singapore (controlled, Tier 2).
    // Together 1.21e25 ≥ 10 % of 1e26 while each alone is under it.
    await s.send(run({ tenantId: 'ga', hours: 10, gpus: 340_000, startMs: T }));
    expect(await s.summary()).toEqual([]);
    await s.send(run({ tenantId: 'gb', hours: 10, gpus: 340_000, startMs: T, country: 'SG' }));
    expect(2 * 10 * 340_000 * OPS_PER_H100_HOUR).toBeGreaterThan(1e25);
    expect(await s.summary()).toEqual([['structuring', groupId!, 0.1, 'info']]);
  });
});

describe('levels mean one thing', () => {
  it('keeps limit and band alerts off the threshold-ratio gauges and summarises them by what their level is', async () => {
    const s = await start(packWithout('tenant-approach'));
    await s.store.registry.putTenant(kyc('big'));
    await s.store.registry.putTenant(kyc('fast'));
    // big: 2,000 H100s at once (> 1,699 H100e) for 2 h. fast: 200,000 H100s for 24 h → velocity band 2 (10.7 days).
    await s.send([
      ...run({ tenantId: 'big', hours: 2, gpus: 2000, startMs: T }),
      ...run({ tenantId: 'fast', hours: 24, gpus: 200_000, startMs: T }),
    ]);
    expect(await s.summary()).toEqual(sorted([['large-untrusted-cluster', 'big', 1, 'high'], ['large-untrusted-cluster', 'fast', 1, 'high'], ['velocity', 'fast', 2, 'high']]));
    const alerts = await s.alerts();
    const cluster = alerts.find((a) => a.rule === 'large-untrusted-cluster' && a.subject === 'big')!;
    expect(cluster.levelBasis).toEqual({ kind: 'limit', quantity: 'h100e', observed: 2000, limit: 1699 });
    expect(describeLevel(cluster)).toBe('tenant big holds 2000 H100-equivalents, over the limit of 1699 (large-untrusted-cluster)');
    const velocity = alerts.find((a) => a.rule === 'velocity')!;
    expect(velocity.levelBasis).toMatchObject({ kind: 'band', band: 2, withinDays: 14 });
    expect(describeLevel(velocity)).toMatch(/^tenant fast projected to reach 1\.00e\+26 operations in 10\.\d days \(band 2: within 14 days\) \(velocity\)$/);
    expect((await readExposure({ store: s.store, pack: s.pack })).subjects).toEqual([]);
  });
});
