import type { AcceleratorSpec } from './accelerator.js';

// Figures: DOMAIN.md's table, checked against NVIDIA datasheets; all dense (vendor sparse figures ÷ 2).
// A bare model name ("H100") means the SXM part, the form training clusters use.
export const NVIDIA_DATACENTER: readonly AcceleratorSpec[] = [
  {
    id: 'nvidia-h100-sxm5-80gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H100 SXM5 80GB',
    aliases: ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 SXM5 80GB', 'H100', 'H100 SXM', 'h100-sxm', 'H100-SXM5-80GB'],
    densePeakTflops: { fp64: 66.9, tf32: 494.7, fp32: 66.9, bf16: 989.4, fp16: 989.4, fp8: 1979, int8: 1979 },
    tpp: 15_832,
    dieAreaMm2: 814,
    source: 'https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet',
  },
  {
    id: 'nvidia-h100-pcie-80gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H100 PCIe 80GB',
    aliases: ['NVIDIA H100 PCIe', 'H100 PCIe', 'h100-pcie', 'H100-PCIE-80GB'],
    densePeakTflops: { fp64: 51, tf32: 378, fp32: 51, bf16: 756, fp16: 756, fp8: 1513, int8: 1513 },
    tpp: 12_104,
    dieAreaMm2: 814,
    source: 'https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet',
  },
  {
    id: 'nvidia-h100-nvl-94gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H100 NVL (per GPU)',
    aliases: ['NVIDIA H100 NVL', 'H100 NVL', 'h100-nvl'],
    densePeakTflops: { fp64: 60, tf32: 417.5, fp32: 60, bf16: 835.5, fp16: 835.5, fp8: 1670.5, int8: 1670.5 },
    // 13,368 as BIS-style rounding of the datasheet's 3,341 sparse FP8 TFLOP/s (÷2 × 8).
    tpp: 13_368,
    dieAreaMm2: 814,
    source: 'https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet (per GPU of the NVL pair)',
  },
  {
    id: 'nvidia-h800-sxm5-80gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H800 SXM5',
    aliases: ['NVIDIA H800', 'NVIDIA H800 80GB HBM3', 'H800', 'h800-sxm'],
    // The export variant: H100 compute with FP64 cut to ≈1 TFLOP/s and reduced NVLink.
    densePeakTflops: { fp64: 1, tf32: 494, bf16: 989, fp16: 989, fp8: 1979, int8: 1979 },
    tpp: 15_832,
    dieAreaMm2: 814,
    source: 'NVIDIA H800 product brief; DOMAIN.md (Epoch lists FP64 29.65, a known error)',
  },
  {
    id: 'nvidia-h200-sxm-141gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H200 SXM 141GB',
    aliases: ['NVIDIA H200', 'NVIDIA H200 141GB HBM3e', 'H200', 'h200-sxm'],
    densePeakTflops: { fp64: 66.9, tf32: 494.7, fp32: 66.9, bf16: 989.4, fp16: 989.4, fp8: 1979, int8: 1979 },
    tpp: 15_832,
    dieAreaMm2: 814,
    source: 'https://www.nvidia.com/en-us/data-center/h200/',
  },
  {
    id: 'nvidia-h20-96gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H20',
    aliases: ['NVIDIA H20', 'H20', 'HGX H20'],
    densePeakTflops: { fp64: 1, tf32: 74, fp32: 44, bf16: 148, fp16: 148, fp8: 296, int8: 296 },
    tpp: 2_368,
    dieAreaMm2: 814,
    source: 'NVIDIA HGX H20 product brief (via Epoch AI); designed under the 3A090 thresholds',
  },
  {
    id: 'nvidia-a100-sxm4-80gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA A100 SXM4 80GB',
    // The 40 GB SXM part has the same peaks.
    aliases: ['NVIDIA A100-SXM4-80GB', 'NVIDIA A100-SXM4-40GB', 'A100', 'A100 SXM', 'a100-sxm', 'A100-80GB'],
    densePeakTflops: { fp64: 19.5, tf32: 156, fp32: 19.5, bf16: 312, fp16: 312, int8: 624 },
    tpp: 4_992,
    dieAreaMm2: 826,
    source: 'https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf',
  },
  {
    id: 'nvidia-a100-pcie-80gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA A100 PCIe 80GB',
    aliases: ['NVIDIA A100 80GB PCIe', 'NVIDIA A100-PCIE-40GB', 'A100 PCIe', 'a100-pcie'],
    densePeakTflops: { fp64: 19.5, tf32: 156, fp32: 19.5, bf16: 312, fp16: 312, int8: 624 },
    tpp: 4_992,
    dieAreaMm2: 826,
    source: 'https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf',
  },
  {
    id: 'nvidia-a800-sxm4-80gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA A800 SXM4 80GB',
    aliases: ['NVIDIA A800-SXM4-80GB', 'NVIDIA A800 80GB PCIe', 'A800', 'a800-sxm'],
    densePeakTflops: { fp64: 19.5, tf32: 155.9, fp32: 19.5, bf16: 311.8, fp16: 311.8, int8: 623.6 },
    tpp: 4_989,
    dieAreaMm2: 826,
    source: 'NVIDIA A800 datasheet (via Epoch AI)',
  },
  {
    id: 'nvidia-l40s',
    vendor: 'NVIDIA',
    name: 'NVIDIA L40S',
    aliases: ['NVIDIA L40S', 'L40S'],
    densePeakTflops: { tf32: 183, fp32: 91.6, bf16: 362, fp16: 362, fp8: 733, int8: 733 },
    tpp: 5_864,
    dieAreaMm2: 608,
    source: 'https://resources.nvidia.com/en-us-l40s/l40s-datasheet-28413',
  },
  {
    id: 'nvidia-l4',
    vendor: 'NVIDIA',
    name: 'NVIDIA L4',
    aliases: ['NVIDIA L4', 'L4'],
    densePeakTflops: { tf32: 60, fp32: 30.3, bf16: 121, fp16: 121, fp8: 242.5, int8: 242.5 },
    tpp: 1_940,
    dieAreaMm2: 294,
    source: 'https://resources.nvidia.com/en-us-data-center-overview/l4-gpu-datasheet; controlled by performance density',
  },
  {
    id: 'nvidia-b200',
    vendor: 'NVIDIA',
    name: 'NVIDIA B200 (per GPU)',
    aliases: ['NVIDIA B200', 'B200', 'b200-sxm'],
    densePeakTflops: { fp64: 37, tf32: 1100, bf16: 2250, fp16: 2250, fp8: 4500, int8: 4500, fp4: 9000 },
    tpp: 36_000,
    dieAreaMm2: null,
    source: 'NVIDIA DGX B200 datasheet (per GPU); two dies, no published total die area',
  },
  {
    id: 'nvidia-b100',
    vendor: 'NVIDIA',
    name: 'NVIDIA B100',
    aliases: ['NVIDIA B100', 'B100'],
    densePeakTflops: { fp64: 30, tf32: 875, bf16: 1750, fp16: 1750, fp8: 3500, int8: 3500, fp4: 7000 },
    tpp: 28_000,
    dieAreaMm2: null,
    source: 'NVIDIA HGX B100 figures (via Epoch AI)',
  },
  {
    id: 'nvidia-gb200',
    vendor: 'NVIDIA',
    name: 'NVIDIA GB200 (per GPU)',
    aliases: ['NVIDIA GB200', 'GB200'],
    densePeakTflops: { fp64: 40, tf32: 1250, bf16: 2500, fp16: 2500, fp8: 5000, int8: 5000, fp4: 10000 },
    tpp: 40_000,
    dieAreaMm2: null,
    source: 'https://www.nvidia.com/en-us/data-center/gb200-nvl72/ (per Blackwell GPU of the superchip)',
  },
  // Rows added for issue 12 (accelerators rented today). Aliases include the exact `modelName` strings
  // DCGM exporter and nvidia-smi report. Figures are dense per GPU: vendor sparse figures ÷ 2.
  {
    id: 'nvidia-gh200',
    vendor: 'NVIDIA',
    name: 'NVIDIA GH200 Grace Hopper (GPU)',
    // The 480GB part (96 GB HBM3) and the 144GB part (HBM3e) carry the same H100-class GPU and peaks.
    aliases: ['NVIDIA GH200 480GB', 'NVIDIA GH200 144G HBM3e', 'NVIDIA GH200 144GB HBM3e', 'NVIDIA GH200', 'GH200'],
    // Datasheet (sparse): FP8 3,958, BF16 1,979, TF32 989 TFLOP/s; FP64 tensor 67, FP32 67.
    densePeakTflops: { fp64: 66.9, tf32: 494.7, fp32: 66.9, bf16: 989.4, fp16: 989.4, fp8: 1979, int8: 1979 },
    tpp: 15_832,
    dieAreaMm2: 814,
    source: 'https://resources.nvidia.com/en-us-grace-cpu/grace-hopper-superchip (GH200 datasheet; GPU die GH100, 814 mm²)',
  },
  {
    id: 'nvidia-h200-nvl-141gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA H200 NVL',
    aliases: ['NVIDIA H200 NVL', 'H200 NVL', 'h200-nvl'],
    // H200 datasheet, NVL column (sparse): FP8/INT8 3,341, BF16/FP16 1,671, TF32 835; FP64 tensor 60, FP32 60.
    densePeakTflops: { fp64: 60, tf32: 417.5, fp32: 60, bf16: 835.5, fp16: 835.5, fp8: 1670.5, int8: 1670.5 },
    // 1,670.5 × 8 (the H100 NVL row keeps the BIS-style rounding 13,368 of the same figure).
    tpp: 13_364,
    dieAreaMm2: 814,
    source: 'https://www.nvidia.com/en-us/data-center/h200/ (H200 NVL column of the datasheet)',
  },
  {
    id: 'nvidia-b300',
    vendor: 'NVIDIA',
    name: 'NVIDIA B300 Blackwell Ultra (HGX, per GPU)',
    aliases: ['NVIDIA B300 SXM6 AC', 'NVIDIA B300', 'B300', 'HGX B300'],
    // HGX B300 table ÷ 8 GPUs: FP4 105 PFLOPS dense (144 sparse), FP8 72, BF16 36, TF32 18 (sparse),
    // FP32 600 TFLOP/s, FP64 10 TFLOP/s. Uncertain: Epoch and some integrators give FP4 14,000 and
    // TF32 1,100 dense; INT8 (cut on Blackwell Ultra) is 2 POPS sparse for 8 GPUs, i.e. 125 dense —
    // others quote 150–157.5. Either way TPP is far above 4,800, so the class does not depend on it.
    densePeakTflops: { fp64: 1.25, tf32: 1125, fp32: 75, bf16: 2250, fp16: 2250, fp8: 4500, int8: 125, fp4: 13_125 },
    // FP4 13,125 × 4; FP8 gives 36,000.
    tpp: 52_500,
    dieAreaMm2: null,
    source: 'https://www.nvidia.com/en-us/data-center/hgx/ (HGX B300 specifications, per GPU); two dies, no published total die area',
  },
  {
    id: 'nvidia-gb300',
    vendor: 'NVIDIA',
    name: 'NVIDIA GB300 Blackwell Ultra (per GPU)',
    aliases: ['NVIDIA GB300', 'NVIDIA GB300 NVL', 'GB300'],
    // GB300 NVL72 table ÷ 72 GPUs: FP4 1,080 PFLOPS dense (1,440 sparse), FP8 720, BF16 360, TF32 180
    // (sparse), FP64 100 TFLOP/s (1.39 per GPU; Epoch lists 1.3). INT8 about 23 POPS sparse per rack
    // (160 dense per GPU; others quote 165): uncertain to a few per cent.
    densePeakTflops: { fp64: 1.39, tf32: 1250, fp32: 80, bf16: 2500, fp16: 2500, fp8: 5000, int8: 160, fp4: 15_000 },
    // FP4 15,000 × 4.
    tpp: 60_000,
    dieAreaMm2: null,
    source: 'https://www.nvidia.com/en-us/data-center/gb300-nvl72/ (per Blackwell Ultra GPU of the superchip); two dies, no published total die area',
  },
  {
    id: 'nvidia-rtx-pro-6000-blackwell-server',
    vendor: 'NVIDIA',
    name: 'NVIDIA RTX PRO 6000 Blackwell Server Edition',
    aliases: ['NVIDIA RTX PRO 6000 Blackwell Server Edition', 'RTX PRO 6000 Blackwell Server Edition', 'RTX PRO 6000 Blackwell Server', 'RTX PRO 6000 Server'],
    // NVIDIA quotes 4 PFLOPS FP4 with sparsity (2,000 dense) and up to 120 TFLOP/s FP32. The other
    // tensor formats are not in the datasheet: derived from the FP4 figure at the Blackwell
    // ratios (FP8 and INT8 half, BF16/FP16 with FP32 accumulate a quarter, TF32 an eighth),
    // which the 188-SM GB202 at about 2.6 GHz also gives. Uncertain by a few per cent (clocks).
    densePeakTflops: { tf32: 250, fp32: 120, bf16: 500, fp16: 500, fp8: 1000, int8: 1000, fp4: 2000 },
    // FP4 2,000 × 4 = FP8 1,000 × 8 = BF16 500 × 16.
    tpp: 8_000,
    // GB202 die, 750 mm² (third-party measurement; NVIDIA does not publish it).
    dieAreaMm2: 750,
    source: 'https://www.nvidia.com/en-us/data-center/rtx-pro-6000-blackwell-server-edition/ (datasheet); die area from TechPowerUp',
  },
  {
    id: 'nvidia-l20',
    vendor: 'NVIDIA',
    name: 'NVIDIA L20',
    aliases: ['NVIDIA L20', 'L20'],
    // The AD102 China part: FP8/INT8 239, FP16/BF16 119.5, TF32 59.8 TFLOP/s dense (as Epoch lists
    // them). Designed under the thresholds: TPP 1,912 and 1,912 / 609 mm² = 3.1 per mm².
    densePeakTflops: { tf32: 59.8, fp32: 59.8, bf16: 119.5, fp16: 119.5, fp8: 239, int8: 239 },
    tpp: 1_912,
    dieAreaMm2: 609,
    source: 'NVIDIA L20 product brief (via Epoch AI and TechPowerUp: https://www.techpowerup.com/gpu-specs/l20.c4206); die AD102, 609 mm²',
  },
  {
    id: 'nvidia-rtx-4090',
    vendor: 'NVIDIA',
    name: 'NVIDIA GeForce RTX 4090',
    aliases: ['NVIDIA GeForce RTX 4090', 'RTX 4090', 'GeForce RTX 4090'],
    // BF16 with FP32 accumulate (165.2); FP8 figure with FP16 accumulate, which sets the TPP.
    densePeakTflops: { tf32: 82.6, fp32: 82.6, bf16: 165.2, fp16: 165.2, fp8: 660.6, int8: 660.6 },
    tpp: 5_285,
    dieAreaMm2: 608,
    source: 'NVIDIA Ada Lovelace architecture whitepaper, appendix A',
  },
];
