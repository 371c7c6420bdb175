import { afterEach, describe, expect, it } from 'vitest';
import type { Lineage } from '@flopwatch/contracts';
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
const T = Math.floor(Date.now() / HOUR) * HOUR - 150 * HOUR;
const ALL = [[0.1, 'info'], [0.25, 'low'], [0.5, 'medium'], [0.8, 'high'], [0.9, 'high'], [1, 'critical']] as const;
const levels = (rule: string, subject: string, upTo: number) => ALL.filter(([l]) => l <= upTo).map(([l, sev]) => [rule, subject, l, sev]);

describe('lineage-laundering', () => {
  it('links a lineage that another tenant continues from a checkpoint, so the renamed model carries the old count and raises laundering and frontier alerts up to 100 %', async () => {
    const s = await start();
    await s.store.registry.putTenant(kyc('lab-x'));
    await s.store.registry.putTenant(kyc('shell-y'));
    // x/base: 68 h = 6.05e25, writes sha256:aaa; y/renamed starts from it: 50 h = 4.45e25; cumulative 1.05e26.
    // Sent together: the reader may be counted before the writer is seen, and is linked when it is.
    await s.send([
      ...run({ tenantId: 'lab-x', hours: 68, gpus: 500_000, startMs: T, lineage: { id: 'x/base', checkpointOut: 'sha256:aaa' } }),
      ...run({ tenantId: 'shell-y', hours: 50, gpus: 500_000, startMs: T + 68 * HOUR, lineage: { id: 'y/renamed', checkpointIn: 'sha256:aaa' } }),
    ]);
    expect((await s.store.registry.getLineage<Lineage>('y/renamed'))?.parentId).toBe('x/base');
    expect(await s.summary()).toEqual(sorted([
      ...levels('tenant-approach', 'lab-x', 0.5), ...levels('tenant-approach', 'shell-y', 0.25),
      ...levels('frontier-approach', 'x/base', 0.5), ...levels('frontier-approach', 'y/renamed', 1),
      ...levels('lineage-laundering', 'y/renamed', 1),
    ]));
    const top = (await s.alerts()).find((a) => a.rule === 'lineage-laundering' && a.level === 1)!;
    expect(top.observedOperations).toBeGreaterThanOrEqual(1e26);
    expect(top.evidence.contributingTenants.map((c) => c.tenantId).sort()).toEqual(['lab-x', 'shell-y']);
    expect(top.kyc?.reasons[0]).toContain('started from checkpoint sha256:aaa written by x/base');
  });

  it('links a same-tenant rename through its checkpoint, and raises no laundering for a run resuming its own checkpoint or reading one nobody wrote', async () => {
    const s = await start();
    for (const id of ['solo', 'resume', 'fresh']) await s.store.registry.putTenant(kyc(id));
    await s.send([
      // solo/v1 34 h = 3.03e25 → solo/v2 from its checkpoint, 34 h more: cumulative 6.05e25.
      ...run({ tenantId: 'solo', jobId: 'v1', hours: 34, gpus: 500_000, startMs: T, lineage: { id: 'solo/v1', checkpointOut: 'sha256:s1' } }),
      ...run({ tenantId: 'solo', jobId: 'v2', hours: 34, gpus: 500_000, startMs: T + 34 * HOUR, lineage: { id: 'solo/v2', checkpointIn: 'sha256:s1' } }),
      ...run({ tenantId: 'resume', jobId: 'r1', hours: 17, gpus: 500_000, startMs: T, lineage: { id: 'resume/m', checkpointOut: 'sha256:r1' } }),
      ...run({ tenantId: 'resume', jobId: 'r2', hours: 17, gpus: 500_000, startMs: T + 17 * HOUR, lineage: { id: 'resume/m', checkpointIn: 'sha256:r1' } }),
      ...run({ tenantId: 'fresh', hours: 10, gpus: 500_000, startMs: T, lineage: { id: 'fresh/m', checkpointIn: 'sha256:nobody' } }),
    ]);
    expect((await s.store.registry.getLineage<Lineage>('solo/v2'))?.parentId).toBe('solo/v1');
    expect(await s.summary()).toEqual(sorted([
      ...levels('tenant-approach', 'solo', 0.5), ...levels('frontier-approach', 'solo/v1', 0.25), ...levels('frontier-approach', 'solo/v2', 0.5),
      ...levels('lineage-laundering', 'solo/v2', 0.5),
      ...levels('tenant-approach', 'resume', 0.25), ...levels('frontier-approach', 'resume/m', 0.25),
    ]));
  });
});
