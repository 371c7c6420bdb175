import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_PATH, PolicyPackError, estimateOperations, hardwareRisk, parsePolicyPack, validateUsage } from '../src/index.js';
import { pack, usageEvent } from './fixtures.js';

const NOW = new Date('2026-11-20T11:00:00Z');
// A made-up chip: 1,200 TFLOP/s dense BF16, 2,400 FP8; TPP = 2,400 × 8 = 19,200.
const extraRow = `
accelerators:
  - id: acme-tensor-1
    vendor: Acme
    name: Acme Tensor 1
    aliases: ["ACME T1 96GB"]
    densePeakTflops: { bf16: 1200, fp8: 2400 }
    tpp: 19200
    dieAreaMm2: 800
    source: https://example.invalid/acme-t1-datasheet
`;
// The default pack without its empty `accelerators: []`, so the row below is its only list.
const defaultYaml = readFileSync(DEFAULT_POLICY_PATH, 'utf8').replace(/^accelerators: \[\]$/m, '');
const withExtra = parsePolicyPack(defaultYaml + extraRow, 'pack-with-acme.yaml');
const acmeEvent = usageEvent({ accelerator: { model: 'ACME T1 96GB', count: 4 }, utilization: { tensorActive: 0.5 } });

describe('accelerators a pack adds to the catalog', () => {
  it('refuses a model neither the catalog nor the pack knows, and says how to bring its events back', () => {
    const verdict = validateUsage(acmeEvent, pack, NOW);
    expect(verdict).toMatchObject({ ok: false, reason: 'unknown_accelerator' });
    expect(verdict.ok ? '' : verdict.message).toContain('pnpm dlq:replay --reason unknown_accelerator');
  });

  it('counts a model the pack adds, by its alias, with its peak, TPP class and H100-equivalents', () => {
    expect(validateUsage(acmeEvent, withExtra, NOW).ok).toBe(true);
    // 4 chips × 1,200e12 FLOP/s × 3,600 s × 0.5
    expect(estimateOperations(acmeEvent, withExtra).operations).toBe(4 * 1200e12 * 3600 * 0.5);
    const risk = hardwareRisk({ country: 'US' }, 'ACME T1 96GB', withExtra);
    expect(risk).toMatchObject({ acceleratorId: 'acme-tensor-1', controlled: true, tier: 1 });
    expect(risk.h100Equivalents).toBeCloseTo(19_200 / 15_832, 12);
  });

  it('names the field of a malformed row', () => {
    const bad = defaultYaml + extraRow.replace('densePeakTflops: { bf16: 1200, fp8: 2400 }', 'densePeakTflops: { fp8: 2400 }');
    expect(() => parsePolicyPack(bad, 'bad.yaml')).toThrow(PolicyPackError);
    expect(() => parsePolicyPack(bad, 'bad.yaml')).toThrow(/accelerators\.0\.densePeakTflops/);
  });
});
