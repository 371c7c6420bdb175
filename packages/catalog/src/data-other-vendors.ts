import type { AcceleratorSpec } from './accelerator.js';

// Figures: DOMAIN.md's table, checked against AMD, Intel, Google, AWS and Huawei material. No reliable
// public spec exists for AMD MI308X, so it is left out (an event naming it goes to the DLQ).
export const OTHER_VENDORS: readonly AcceleratorSpec[] = [
  {
    id: 'amd-mi300x',
    vendor: 'AMD',
    name: 'AMD Instinct MI300X',
    aliases: ['AMD Instinct MI300X', 'MI300X', 'Instinct MI300X OAM'],
    densePeakTflops: { fp64: 163.4, tf32: 653.7, fp32: 163.4, bf16: 1307.4, fp16: 1307.4, fp8: 2614.9, int8: 2614.9 },
    tpp: 20_919,
    // Chiplet design: no single die area applies; TPP alone puts it in 3A090.a.
    dieAreaMm2: null,
    source: 'https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html',
  },
  {
    id: 'amd-mi325x',
    vendor: 'AMD',
    name: 'AMD Instinct MI325X',
    aliases: ['AMD Instinct MI325X', 'MI325X'],
    densePeakTflops: { fp64: 163.4, tf32: 653.7, fp32: 163.4, bf16: 1307.4, fp16: 1307.4, fp8: 2614.9, int8: 2614.9 },
    tpp: 20_919,
    dieAreaMm2: null,
    source: 'https://www.amd.com/en/products/accelerators/instinct/mi300/mi325x.html',
  },
  {
    id: 'amd-mi355x',
    vendor: 'AMD',
    name: 'AMD Instinct MI355X',
    aliases: ['AMD Instinct MI355X', 'AMD Instinct MI355X 288GB HBM3e', 'MI355X', 'Instinct MI355X OAM'],
    // AMD (dense; sparse doubles the 16- and 8-bit figures): FP16/BF16 2,516.6, FP8 and INT8 5,033.2,
    // MXFP4/MXFP6 10,066.4, FP32 157.3, FP64 78.6. CDNA 4 has no TF32 matrix format (a tf32 job
    // falls back to the FP32 peak). Epoch lists FP8 4,600 and TPP 37,440, the MI350X's figures.
    densePeakTflops: { fp64: 78.6, fp32: 157.3, bf16: 2516.6, fp16: 2516.6, fp8: 5033.2, int8: 5033.2, fp4: 10_066.4 },
    // 2,516.6 × 16 = 5,033.2 × 8 = 10,066.4 × 4 = 40,265.6.
    tpp: 40_265.6,
    dieAreaMm2: null,
    source: 'https://www.amd.com/en/products/accelerators/instinct/mi350/mi355x.html; chiplet design, no single die area',
  },
  {
    id: 'amd-mi250x',
    vendor: 'AMD',
    name: 'AMD Instinct MI250X',
    aliases: ['AMD Instinct MI250X', 'MI250X'],
    densePeakTflops: { fp64: 95.7, fp32: 95.7, bf16: 383, fp16: 383, int8: 383 },
    tpp: 6_128,
    dieAreaMm2: null,
    source: 'https://www.amd.com/en/products/accelerators/instinct/mi200/mi250x.html (no TF32 format; Epoch lists one)',
  },
  {
    id: 'intel-gaudi3',
    vendor: 'Intel',
    name: 'Intel Gaudi 3',
    aliases: ['Intel Gaudi 3', 'Gaudi 3', 'Gaudi3', 'HL-325L'],
    densePeakTflops: { bf16: 1835, fp16: 1835, fp8: 1835 },
    tpp: 29_360,
    dieAreaMm2: null,
    source: 'Intel Gaudi 3 AI accelerator white paper (Epoch lists BF16 1,678, a known error)',
  },
  {
    id: 'intel-gaudi2',
    vendor: 'Intel',
    name: 'Intel Gaudi 2',
    aliases: ['Intel Gaudi 2', 'Gaudi 2', 'Gaudi2', 'HL-225H'],
    densePeakTflops: { bf16: 432, fp16: 432, fp8: 865 },
    tpp: 6_920,
    dieAreaMm2: null,
    source: 'Intel Gaudi 2 white paper; MLPerf-derived BF16 figure per DOMAIN.md',
  },
  {
    id: 'google-tpu-v5p',
    vendor: 'Google',
    name: 'Google TPU v5p',
    aliases: ['TPU v5p', 'tpu-v5p', 'v5p'],
    densePeakTflops: { bf16: 459, int8: 918 },
    tpp: 7_344,
    dieAreaMm2: null,
    source: 'https://cloud.google.com/tpu/docs/v5p',
  },
  {
    id: 'google-tpu-v5e',
    vendor: 'Google',
    name: 'Google TPU v5e',
    aliases: ['TPU v5e', 'tpu-v5e', 'v5litepod', 'v5e'],
    densePeakTflops: { bf16: 197, int8: 394 },
    tpp: 3_152,
    // Die area as estimated by Epoch AI; it makes v5e controlled through performance density.
    dieAreaMm2: 325,
    source: 'https://cloud.google.com/tpu/docs/v5e; die area from Epoch AI',
  },
  {
    id: 'google-tpu-v6e',
    vendor: 'Google',
    name: 'Google TPU v6e (Trillium)',
    aliases: ['TPU v6e', 'tpu-v6e', 'Trillium', 'v6e'],
    densePeakTflops: { bf16: 918, int8: 1836 },
    tpp: 14_688,
    dieAreaMm2: null,
    source: 'https://cloud.google.com/tpu/docs/v6e',
  },
  {
    id: 'google-tpu-v7',
    vendor: 'Google',
    name: 'Google TPU v7 (Ironwood)',
    // Cloud TPU calls the chip TPU7x; GKE's accelerator label is `tpu7x`.
    aliases: ['TPU v7', 'TPU7x', 'tpu7x', 'Ironwood', 'TPU v7 Ironwood', 'v7x'],
    // Google's TPU7x page: peak per chip BF16 2,307, FP8 4,614 TFLOP/s (dense). No INT8 figure published.
    densePeakTflops: { bf16: 2307, fp8: 4614 },
    tpp: 36_912,
    dieAreaMm2: null,
    source: 'https://docs.cloud.google.com/tpu/docs/tpu7x',
  },
  {
    id: 'aws-trainium2',
    vendor: 'AWS',
    name: 'AWS Trainium2',
    aliases: ['AWS Trainium2', 'Trainium2', 'Trainium 2', 'trn2'],
    // Neuron docs, per chip (8 NeuronCore-v3): FP8 1,299, BF16/FP16/TF32 667, FP32 181 TFLOP/s dense
    // (2,563 sparse). Unlike GPUs, TF32 runs at the BF16 rate, so TPP as the catalog computes it
    // (TF32 × 32 bits) is 667 × 32 = 21,344; from BF16 it would be 10,672 (Epoch's figure), from
    // TF32's 19 significant bits 12,673. Uncertain by that factor of two until BIS says how TF32
    // counts; the class is 3A090.a either way, and H100-equivalents err on the high side.
    densePeakTflops: { tf32: 667, fp32: 181, bf16: 667, fp16: 667, fp8: 1299 },
    tpp: 21_344,
    dieAreaMm2: null,
    source: 'https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trainium2.html',
  },
  {
    id: 'huawei-ascend-910b',
    vendor: 'Huawei',
    name: 'Huawei Ascend 910B',
    aliases: ['Ascend 910B', 'Ascend910B', 'Ascend 910B2', 'Huawei Ascend 910B'],
    // Variants range 280–400 TFLOP/s FP16 (TPP 4,480–6,400); the 910B2 figure stands for the family.
    densePeakTflops: { bf16: 376, fp16: 376 },
    tpp: 6_016,
    dieAreaMm2: null,
    source: 'Huawei Atlas 800T A2 material via Epoch AI (910B2 variant)',
  },
  {
    id: 'huawei-ascend-910c',
    vendor: 'Huawei',
    name: 'Huawei Ascend 910C',
    aliases: ['Ascend 910C', 'Ascend910C', 'Huawei Ascend 910C'],
    densePeakTflops: { bf16: 800, fp16: 800 },
    tpp: 12_800,
    dieAreaMm2: null,
    source: 'Epoch AI estimate (≈ two 910B dies); no datasheet published',
  },
];
