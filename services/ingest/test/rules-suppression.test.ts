import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@flopwatch/test-harness';
import { applyTransition, type Alert } from '@flopwatch/contracts';
import { HOUR, kyc, packWithout, run, scenario, type Scenario } from './rules-scenario.js';

const open: Scenario[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});
const T = Math.floor(Date.now() / HOUR) * HOUR - 100 * HOUR;

async function markFalsePositive(s: Scenario, id: string) {
  const text = (await s.store.cases.raw(id))!;
  const alert = JSON.parse(text) as Alert;
  const at = new Date().toISOString();
  const next = { ...alert, status: applyTransition(alert.status, 'mark_false_positive'), history: [...alert.history, { at, action: 'mark_false_positive', from: alert.status, to: 'false_positive', actor: 'analyst', note: 'known lab' }] };
  expect(await s.store.cases.replace(id, text, next)).toBe('replaced');
}

describe('suppression', () => {
  it('keeps a false-positive level closed through more telemetry and a registry change, still raises the higher level, and never lowers severity below what was raised', async () => {
    // A pack whose 25 % level is less severe than its 10 % level: the raised severity must not fall.
    const pack = packWithout('velocity', 'large-untrusted-cluster');
    pack.levels = [{ fraction: 0.1, severity: 'high' }, { fraction: 0.25, severity: 'low' }, { fraction: 0.5, severity: 'medium' }];
    const s = await scenario(pack);
    open.push(s);
    await s.store.registry.putTenant(kyc('sup'));
    await s.send(run({ tenantId: 'sup', hours: 34, gpus: 500_000, startMs: T })); // 3.03e25
    expect(await s.summary()).toEqual([['tenant-approach', 'sup', 0.1, 'high'], ['tenant-approach', 'sup', 0.25, 'high']]);
    const quarter = (await s.alerts()).find((a) => a.level === 0.25)!;
    await markFalsePositive(s, quarter.id);

    await s.send(run({ tenantId: 'sup', jobId: 'more', hours: 34, gpus: 500_000, startMs: T + 34 * HOUR })); // 6.05e25
    await s.store.registry.putTenant(kyc('sup', { notes: 'reviewed' }));
    await waitFor(async () => {
      const [group] = (await s.redis.xinfo('GROUPS', s.keys.registry.changes)) as unknown[][];
      const info = new Map<unknown, unknown>();
      for (let i = 0; group && i + 1 < group.length; i += 2) info.set(group[i], group[i + 1]);
      return info.get('lag') === 0 && info.get('pending') === 0;
    }, { what: 'the registry change to be re-evaluated', timeoutMs: 15_000 });

    expect(await s.summary()).toEqual([['tenant-approach', 'sup', 0.1, 'high'], ['tenant-approach', 'sup', 0.25, 'high'], ['tenant-approach', 'sup', 0.5, 'high']]);
    expect((await s.store.alerts.get<Alert>(quarter.id))?.status).toBe('false_positive');
    const raised = (await s.redis.xrange(s.keys.alerts.outbox, '-', '+')).filter(([, f]) => f.includes('alert.raised'));
    expect(raised).toHaveLength(3);
  });
});
