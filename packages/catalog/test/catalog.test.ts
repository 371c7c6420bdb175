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

  // Issue 12: accelerators rented today. The expected TPP is the datasheet's dense figure of the
  // format that maximises peak × bits, multiplied out here (vendor sparse figures halved by hand);
  // the model name is the exact string DCGM exporter's `modelName` label (or the vendor's tool) shows.
  it.each<{ id: string; modelName: string; bf16: number; tppFrom: [Precision, number]; tpp: number; die: number | null; cls: string }>([
    // GH200 datasheet: FP8 3,958 sparse → 1,979 dense.
    { id: 'nvidia-gh200', modelName: 'NVIDIA GH200 480GB', bf16: 989.4, tppFrom: ['fp8', 1979], tpp: 1979 * 8, die: 814, cls: '3A090.a' },
    { id: 'nvidia-gh200', modelName: 'NVIDIA GH200 144G HBM3e', bf16: 989.4, tppFrom: ['fp8', 1979], tpp: 15_832, die: 814, cls: '3A090.a' },
    // H200 NVL: FP8 3,341 sparse → 1,670.5 dense.
    { id: 'nvidia-h200-nvl-141gb', modelName: 'NVIDIA H200 NVL', bf16: 1671 / 2, tppFrom: ['fp8', 3341 / 2], tpp: 13_364, die: 814, cls: '3A090.a' },
    // HGX B300: FP4 105 PFLOPS dense for 8 GPUs → 13,125 per GPU.
    { id: 'nvidia-b300', modelName: 'NVIDIA B300 SXM6 AC', bf16: 36_000 / 8 / 2, tppFrom: ['fp4', 105_000 / 8], tpp: 52_500, die: null, cls: '3A090.a' },
    // GB300 NVL72: FP4 1,080 PFLOPS dense for 72 GPUs → 15,000 per GPU.
    { id: 'nvidia-gb300', modelName: 'NVIDIA GB300', bf16: 360_000 / 72 / 2, tppFrom: ['fp4', 1_080_000 / 72], tpp: 60_000, die: null, cls: '3A090.a' },
    // RTX PRO 6000 Blackwell Server: FP4 4 PFLOPS sparse → 2,000 dense; 8,000 / 750 mm² = 10.7 per mm².
    { id: 'nvidia-rtx-pro-6000-blackwell-server', modelName: 'NVIDIA RTX PRO 6000 Blackwell Server Edition', bf16: 500, tppFrom: ['fp4', 4000 / 2], tpp: 8_000, die: 750, cls: '3A090.a' },
    // L20: FP8 239 dense → 1,912; 1,912 / 609 mm² = 3.14 < 5.92, and 1,912 < 4,800: not 3A090.a.
    { id: 'nvidia-l20', modelName: 'NVIDIA L20', bf16: 119.5, tppFrom: ['fp8', 239], tpp: 1_912, die: 609, cls: 'none' },
    // MI355X: FP16/BF16 2,516.6 dense (5,033.2 with sparsity).
    { id: 'amd-mi355x', modelName: 'AMD Instinct MI355X', bf16: 5033.2 / 2, tppFrom: ['bf16', 2516.6], tpp: 40_265.6, die: null, cls: '3A090.a' },
    // Trainium2: TF32 at the BF16 rate, 667 dense, × 32 bits (BF16 gives 10,672, FP8 10,392).
    { id: 'aws-trainium2', modelName: 'Trainium2', bf16: 667, tppFrom: ['tf32', 667], tpp: 21_344, die: null, cls: '3A090.a' },
    // TPU7x: BF16 2,307, FP8 4,614 per chip.
    { id: 'google-tpu-v7', modelName: 'tpu7x', bf16: 2307, tppFrom: ['fp8', 4614], tpp: 36_912, die: null, cls: '3A090.a' },
  ])('knows $modelName as $id: TPP $tpp from $tppFrom, class $cls', ({ id, modelName, bf16, tppFrom, tpp, die, cls }) => {
    const acc = findAccelerator(modelName);
    expect(acc?.id).toBe(id);
    const [format, peak] = tppFrom;
    expect(peak * BITS[format]).toBeCloseTo(tpp, 6);
    expect(acc?.densePeakTflops[format]).toBeCloseTo(peak, 6);
    expect(acc?.densePeakTflops.bf16).toBeCloseTo(bf16, 6);
    expect(acc?.tpp).toBeCloseTo(tpp, 6);
    expect(acc?.dieAreaMm2).toBe(die);
    expect(acc?.class3A090).toBe(cls);
    expect(acc?.h100Equivalents).toBeCloseTo(tpp / 15_832, 12);
    expect(acc?.source).toMatch(/\S/);
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
    ['NVIDIA-GH200-480GB', 'nvidia-gh200'],
    ['NVIDIA B300', 'nvidia-b300'],
    ['NVIDIA H200', 'nvidia-h200-sxm-141gb'],
    ['Ironwood', 'google-tpu-v7'],
    ['AWS Trainium2', 'aws-trainium2'],
  ])('finds %s as %s', (name, id) => {
    expect(findAccelerator(name)?.id).toBe(id);
  });

  it.each(['G2', 'G3', 'AMD Instinct MI308X', 'nvidia-h100', '', 'NVIDIA RTX PRO 6000 Blackwell Workstation Edition', 'AMD Instinct MI350X', 'Trainium3'])('does not guess a model for %j', (name) => {
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
