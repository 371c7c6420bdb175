import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_RULES } from '@flopwatch/contracts';
import { DEFAULT_POLICY_PATH, loadPolicyPack, parsePolicyPack, PolicyPackError } from '../src/index.js';

const defaultText = readFileSync(DEFAULT_POLICY_PATH, 'utf8');

function refusal(text: string): PolicyPackError {
  try {
    parsePolicyPack(text, 'packs/broken.yaml');
  } catch (err) {
    if (err instanceof PolicyPackError) return err;
    throw err;
  }
  throw new Error('the pack was accepted');
}

describe('default policy pack', () => {
  it('loads with the thresholds, levels and limits of DOMAIN.md', () => {
    const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
    expect(pack.thresholds).toEqual({ frontier: { operations: 1e26 }, tenant: { operations: 1e26, windowDays: 365 } });
    expect(pack.levels.map((l) => [l.fraction, l.severity])).toEqual([[0.1, 'info'], [0.25, 'low'], [0.5, 'medium'], [0.8, 'high'], [0.9, 'high'], [1, 'critical']]);
    expect(pack.countries.tier1).toHaveLength(19);
    expect(pack.countries.tier3).toEqual(expect.arrayContaining(['CN', 'MO', 'RU', 'IR', 'KP']));
    expect(pack.limits).toEqual({ maxIntervalSeconds: 3600, maxClockSkewSeconds: 300, maxLatenessDays: 45, maxAgeDays: 400 });
    expect(Object.keys(pack.rules).sort()).toEqual([...ALERT_RULES].sort());
  });
});

describe('a broken policy pack', () => {
  it.each(
    ([
    ['a missing version', defaultText.replace(/^version:.*$/m, ''), 'version', 'expected string'],
    ['a threshold given as text', defaultText.replace('operations: 1e26', 'operations: lots'), 'thresholds.frontier.operations', 'expected number'],
    ['an unknown country code', defaultText.replace('tier1: [US,', 'tier1: [XX,'), 'countries.tier1.0', 'not an ISO 3166-1 alpha-2 country code'],
    ['a country in Tier 1 and Tier 3', defaultText.replace('tier3: [AF,', 'tier3: [US, AF,'), 'countries.tier3.0', 'US is also in countries.tier1'],
    ['levels out of order', defaultText.replace('{ fraction: 0.25, severity: low }', '{ fraction: 0.05, severity: low }'), 'levels', 'strictly increasing'],
    ['an unknown severity', defaultText.replace('severity: info', 'severity: panic'), 'levels.0.severity', 'Invalid option'],
    ['a misspelt key', defaultText.replace('maxClockSkewSeconds', 'maxClockSkewSecs'), 'limits', 'maxClockSkewSecs'],
    ['a utilization above 1', defaultText.replace('default: 0.4', 'default: 40'), 'utilization.default', 'expected number to be <=1'],
    ['a rule left out', defaultText.replace(/ {2}velocity:\n(?: {4}.*\n)+/, ''), 'rules.velocity', 'expected object'],
    ] as const).map(([name, text, path, problem]) => ({ name, text, path, problem })),
  )('is refused when it has $name, naming the file, $path and the problem', ({ text, path, problem }) => {
    const err = refusal(text);
    expect(err.code).toBe('invalid_pack');
    expect(err.message).toContain('packs/broken.yaml');
    expect(err.message).toMatch(new RegExp(`- ${path.replace(/\./g, '\\.')}: .*${problem}`));
  });

  it('is refused with the line and column when it is not YAML', () => {
    const err = refusal('version: "1"\ncountries: [unclosed\n');
    expect(err.code).toBe('invalid_yaml');
    expect(err.message).toMatch(/packs\/broken\.yaml:\n {2}- line \d+, column \d+: /);
  });

  it('is refused naming the path when the file cannot be read', () => {
    expect(() => loadPolicyPack('/nonexistent/pack.yaml')).toThrow(expect.objectContaining({ code: 'unreadable_pack', message: expect.stringContaining('/nonexistent/pack.yaml') }));
  });
});
