import { PRECISIONS, type Precision } from '@flopwatch/contracts';
import { describe, expect, it } from 'vitest';
import { accelerators, classify3A090, densePeakFlops, findAccelerator, peakPrecision } from '../src/index.js';

const BITS: Record<Precision, number> = { fp64: 64, tf32: 32, fp32: 32, bf16: 16, fp16: 16, fp8: 8, int8: 8, fp4: 4 };

describe('accelerator catalog', () => {
  // DOMAIN.md's table: id, BF16/FP16 dense TFLOP/s, TPP, 3A090 class.
  it.each<[string, number, number, string]>([
    ['nvidia-h100-sxm5-80gb', 989.4, 15_832, '3A090.a'],
    ['nvidia-h100-pcie-80gb', 756, 12_104, '3A090.a'],
    ['nvidia-h100-nvl-94gb', 835.5, 13_368, '3A090.a'],
    ['nvidia-h800-sxm5-80gb', 989, 15_832, '3A090.a'],
    ['nvidia-h200-sxm-141gb', 989.4, 15_832, '3A090.a'],
    ['nvidia-h20-96gb', 148, 2_368, 'none'],
    ['nvidia-a100-sxm4-80gb', 312, 4_992, '3A090.a'],
    ['nvidia-a800-sxm4-80gb', 311.8, 4_989, '3A090.a'],
    ['nvidia-l40s', 362, 5_864, '3A090.a'],
    ['nvidia-l4', 121, 1_940, '3A090.a'],
    ['nvidia-b200', 2_250, 36_000, '3A090.a'],
    ['nvidia-b100', 1_750, 28_000, '3A090.a'],
    ['nvidia-gb200', 2_500, 40_000, '3A090.a'],
    ['nvidia-rtx-4090', 165.2, 5_285, '3A090.a'],
    ['amd-mi300x', 1_307.4, 20_919, '3A090.a'],
    ['amd-mi325x', 1_307.4, 20_919, '3A090.a'],
    ['amd-mi250x', 383, 6_128, '3A090.a'],
    ['intel-gaudi3', 1_835, 29_360, '3A090.a'],
    ['intel-gaudi2', 432, 6_920, '3A090.a'],
    ['google-tpu-v5p', 459, 7_344, '3A090.a'],
    ['google-tpu-v5e', 197, 3_152, '3A090.a'],
    ['google-tpu-v6e', 918, 14_688, '3A090.a'],
    ['huawei-ascend-910b', 376, 6_016, '3A090.a'],
    ['huawei-ascend-910c', 800, 12_800, '3A090.a'],
  ])('holds DOMAIN.md row %s: %s TFLOP/s bf16, TPP %s, class %s', (id, bf16, tpp, cls) => {
    const acc = findAccelerator(id);
    expect(acc?.densePeakTflops.bf16 ?? acc?.densePeakTflops.fp16).toBe(bf16);
    expect(acc?.tpp).toBe(tpp);
    expect(acc?.class3A090).toBe(cls);
    expect(acc?.h100Equivalents).toBeCloseTo(tpp / 15_832, 12);
  });

  it.each([
    ['NVIDIA H100 80GB HBM3', 'nvidia-h100-sxm5-80gb'],
    ['  nvidia h100 80gb hbm3 ', 'nvidia-h100-sxm5-80gb'],
    ['H100', 'nvidia-h100-sxm5-80gb'],
    ['h100-sxm', 'nvidia-h100-sxm5-80gb'],
    ['NVIDIA H100 PCIe', 'nvidia-h100-pcie-80gb'],
    ['NVIDIA A100-SXM4-80GB', 'nvidia-a100-sxm4-80gb'],
    ['NVIDIA H20', 'nvidia-h20-96gb'],
    ['NVIDIA H200', 'nvidia-h200-sxm-141gb'],
    ['AMD Instinct MI300X', 'amd-mi300x'],
    ['NVIDIA-L40S', 'nvidia-l40s'],
    ['A10', 'nvidia-a10'],
    ['P100', 'nvidia-tesla-p100-pcie-16gb'],
    ['T4', 'nvidia-tesla-t4'],
    ['V100M16', 'nvidia-tesla-v100-sxm2-16gb'],
    ['V100M32', 'nvidia-tesla-v100-sxm2-32gb'],
  ])('finds %s as %s', (name, id) => {
    expect(findAccelerator(name)?.id).toBe(id);
  });

  it.each(['G2', 'G3', 'AMD Instinct MI308X', 'nvidia-h100', ''])('does not guess a model for %j', (name) => {
    expect(findAccelerator(name)).toBeUndefined();
  });

  it('maps every id, name and alias to one accelerator only', () => {
    const owner = new Map<string, string>();
    for (const acc of accelerators) {
      for (const key of new Set([acc.id, acc.name, ...acc.aliases].map((k) => k.toLowerCase().replace(/[^a-z0-9]/g, '')))) {
        expect(owner.get(key), `${key} of ${acc.id}`).toBeUndefined();
        owner.set(key, acc.id);
      }
    }
  });

  it('gives every row a 16-bit peak and a source', () => {
    for (const acc of accelerators) {
      expect(acc.densePeakTflops.bf16 ?? acc.densePeakTflops.fp16, acc.id).toBeGreaterThan(0);
      expect(acc.source.length, acc.id).toBeGreaterThan(0);
    }
  });

  // TPP is the dense peak × bit length maximised over formats; rows whose TPP is a published
  // rounding of that figure stay within 0.1 %.
  it('states a TPP that its dense peaks give', () => {
    for (const acc of accelerators) {
      const fromPeaks = Math.max(...PRECISIONS.filter((p) => p !== 'fp64').map((p) => (acc.densePeakTflops[p] ?? 0) * BITS[p]));
      expect(Math.abs(fromPeaks - acc.tpp) / acc.tpp, acc.id).toBeLessThan(0.001);
    }
  });

  it.each<[number, number | null, string]>([
    [4_800, null, '3A090.a'],
    [4_799, null, 'none'],
    [1_600, 1_600 / 5.92, '3A090.a'],
    [1_600, 1_600 / 5.9, 'none'],
    [1_599, 100, 'none'],
    [2_368, 814, 'none'],
  ])('classifies TPP %s with die %s mm² as %s', (tpp, die, cls) => {
    expect(classify3A090(tpp, die)).toBe(cls);
  });
});

describe('densePeakFlops', () => {
  const h100 = findAccelerator('nvidia-h100-sxm5-80gb')!;
  const v100 = findAccelerator('V100M16')!;

  it.each<[string, ReturnType<typeof findAccelerator>, Precision, Precision, number]>([
    ['H100 bf16', h100, 'bf16', 'bf16', 989.4e12],
    ['H100 fp8 (its own fp8 peak)', h100, 'fp8', 'fp8', 1979e12],
    ['H100 fp4 (no fp4: falls back to fp8)', h100, 'fp4', 'fp8', 1979e12],
    ['V100 bf16 (no bf16: falls back to fp16)', v100, 'bf16', 'fp16', 125e12],
    ['V100 fp8 (no fp8: falls back to fp16)', v100, 'fp8', 'fp16', 125e12],
    ['V100 tf32 (no tf32: falls back to fp32)', v100, 'tf32', 'fp32', 15.7e12],
  ])('uses the right peak for %s', (_name, acc, precision, used, flops) => {
    expect(peakPrecision(acc!, precision)).toBe(used);
    expect(densePeakFlops(acc!, precision)).toBeCloseTo(flops, -6);
  });
});
