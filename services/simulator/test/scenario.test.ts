import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { findAccelerator } from '@flopwatch/catalog';
import { DEFAULT_POLICY_PATH, estimateOperations, loadPolicyPack } from '@flopwatch/policy';
import { loadScenario, parseScenario, planEvents, planScenario, ScenarioError, SCENARIO_DIR } from '../src/index.js';

const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
const NOW = new Date('2026-11-20T12:00:00Z');
const raw = (name: string) => parseYaml(readFileSync(`${SCENARIO_DIR}${name}.yaml`, 'utf8')) as Record<string, unknown>;

function operationsByTenant(name: string) {
  const plan = planScenario(loadScenario(name), NOW);
  const ops = new Map<string, number>();
  for (const e of planEvents(plan)) ops.set(e.data.tenantId, (ops.get(e.data.tenantId) ?? 0) + estimateOperations(e, pack).operations);
  return { plan, ops, total: [...ops.values()].reduce((a, b) => a + b, 0) };
}

describe('scenario files', () => {
  it.each(['loophole', 'benign', 'background'])('validates the shipped %s scenario', (name) => {
    expect(() => loadScenario(name)).not.toThrow();
  });

  it('lists every broken reference of an invalid scenario at once', () => {
    const s = raw('benign');
    const jobs = s.jobs as Record<string, unknown>[];
    s.jobs = [{ ...jobs[0], tenant: 'nobody', clusters: ['nowhere'], accelerator: 'nvidia-h999', duration: 'forever' }];
    try {
      parseScenario(s, 'broken.yaml');
      expect.unreachable('parseScenario accepted a broken scenario');
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      const problems = (err as ScenarioError).problems.join('\n');
      for (const part of ['tenant nobody', 'cluster nowhere', 'nvidia-h999', '"forever"']) expect(problems).toContain(part);
    }
  });

  it('rejects a job with both a tenant and a split, and an unknown utilization profile', () => {
    const s = raw('loophole');
    const job = (s.jobs as Record<string, unknown>[])[0]!;
    s.jobs = [{ ...job, tenant: 'shell-01', utilization: { profile: 'sawtooth' } }];
    expect(() => parseScenario(s)).toThrow(ScenarioError);
  });

  it('plans the same events on every run for the same clock', () => {
    const a = planEvents(planScenario(loadScenario('background'), NOW));
    const b = planEvents(planScenario(loadScenario('background'), NOW));
    expect(b).toEqual(a);
    expect(Math.max(...a.map((e) => Date.parse(e.data.interval.end)))).toBeLessThanOrEqual(NOW.getTime());
  });
});

describe('the loophole scenario', () => {
  it('trains past 1e26 in total while every account stays under the first tenant level and the LPP allowance', () => {
    const { plan, ops, total } = operationsByTenant('loophole');
    expect(total).toBeGreaterThan(pack.thresholds.frontier.operations);
    const firstLevel = pack.thresholds.tenant.operations * pack.levels[0]!.fraction;
    for (const [tenant, o] of ops) expect(o, tenant).toBeLessThan(firstLevel);
    for (const job of plan.jobs) expect(job.gpus * findAccelerator(job.accelerator)!.h100Equivalents).toBeLessThan(pack.rules['large-untrusted-cluster'].maxH100e);
    expect(new Set(plan.jobs.map((j) => j.cluster.country))).toEqual(new Set(['US', 'IE', 'DE']));
  });

  it('matches the benign lab in volume', () => {
    const loophole = operationsByTenant('loophole').total;
    const benign = operationsByTenant('benign').total;
    expect(Math.abs(benign - loophole) / loophole).toBeLessThan(0.05);
  });
});
