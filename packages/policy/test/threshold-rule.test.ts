import { readFileSync } from 'node:fs';
import { alertId } from '@flopwatch/contracts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_PATH, evaluateThresholdRule, parsePolicyPack, type ThresholdRuleInput } from '../src/index.js';
import { pack } from './fixtures.js';

const untrustedTier3 = { tier: 3, trusted: false } as const;
const trustedTier1 = { tier: 1, trusted: true } as const;
const base: ThresholdRuleInput = { rule: 'frontier-approach', scope: 'lineage', subject: 'tenant-42/model-x', totalOperations: 0.55e26, risk: untrustedTier3, controlledTier1Exposure: true };
const levelsOf = (input: Partial<ThresholdRuleInput>) => evaluateThresholdRule({ ...base, ...input }, pack).map((d) => d.level);

describe('evaluateThresholdRule', () => {
  it('raises one draft per level an untrusted lineage has reached on controlled Tier 1 hardware', () => {
    const drafts = evaluateThresholdRule(base, pack);
    expect(drafts.map((d) => [d.level, d.severity])).toEqual([[0.1, 'info'], [0.25, 'low'], [0.5, 'medium']]);
    expect(drafts[2]).toEqual({
      id: alertId({ rule: 'frontier-approach', scope: 'lineage', subject: 'tenant-42/model-x', level: 0.5 }),
      rule: 'frontier-approach',
      scope: 'lineage',
      subject: 'tenant-42/model-x',
      level: 0.5,
      threshold: 1e26,
      severity: 'medium',
      observedOperations: 0.55e26,
    });
  });

  it.each<[string, Partial<ThresholdRuleInput>, number[]]>([
    ['a trusted Tier 1 tenant', { risk: trustedTier1 }, []],
    ['a verified Tier 2 tenant', { risk: { tier: 2, trusted: true } }, [0.1, 0.25, 0.5]],
    ['an unverified Tier 1 tenant', { risk: { tier: 1, trusted: false } }, [0.1, 0.25, 0.5]],
    ['no controlled Tier 1 hardware', { controlledTier1Exposure: false }, []],
    ['a tenant approaching its 365-day threshold', { rule: 'tenant-approach', scope: 'tenant', subject: 'tenant-42', totalOperations: 0.95e26 }, [0.1, 0.25, 0.5, 0.8, 0.9]],
    ['a group of one tenant', { rule: 'structuring', scope: 'group', subject: 'grp-1', linkedCount: 1 }, []],
    ['a group of three tenants', { rule: 'structuring', scope: 'group', subject: 'grp-1', linkedCount: 3 }, [0.1, 0.25, 0.5]],
    ['a lineage through two tenants', { rule: 'lineage-laundering', linkedCount: 2 }, [0.1, 0.25, 0.5]],
    ['a lineage of one tenant', { rule: 'lineage-laundering', linkedCount: 1 }, []],
    ['an unverified tenant past 1e23', { rule: 'unverified-at-scale', scope: 'tenant', subject: 't', totalOperations: 2e23, risk: { tier: 1, trusted: false } }, [1]],
    ['a verified tenant past 1e23', { rule: 'unverified-at-scale', scope: 'tenant', subject: 't', totalOperations: 2e23, risk: { tier: 2, trusted: true } }, []],
    ['a Tier 3-owned tenant past the floor', { rule: 'parent-in-tier3', scope: 'tenant', subject: 't', totalOperations: 1e21, risk: { tier: 3, trusted: true } }, [1]],
    ['a Tier 2 tenant past the floor', { rule: 'parent-in-tier3', scope: 'tenant', subject: 't', totalOperations: 1e22, risk: { tier: 2, trusted: false } }, []],
  ])('decides for %s', (_name, input, levels) => {
    expect(levelsOf(input)).toEqual(levels);
  });

  it('uses a rule\'s own levels when the pack sets them', () => {
    const text = readFileSync(DEFAULT_POLICY_PATH, 'utf8').replace('  frontier-approach:\n    enabled: true', '  frontier-approach:\n    enabled: true\n    levels: [{ fraction: 0.5, severity: high }]');
    const custom = parsePolicyPack(text, 'custom.yaml');
    expect(evaluateThresholdRule(base, custom).map((d) => [d.level, d.severity])).toEqual([[0.5, 'high']]);
  });

  it('raises nothing for a disabled rule', () => {
    const off = { ...pack, rules: { ...pack.rules, 'frontier-approach': { enabled: false } } };
    expect(evaluateThresholdRule(base, off)).toEqual([]);
  });

  it('refuses a rule applied to the wrong scope', () => {
    expect(() => evaluateThresholdRule({ ...base, scope: 'tenant' }, pack)).toThrow(expect.objectContaining({ code: 'rule_scope_mismatch' }));
  });
});
