import type { AcceleratorSpec } from './accelerator.js';

// Older GPUs of Alibaba's cluster-trace-gpu-v2023 node list, so the trace can be replayed. Their
// models are named P100, T4, V100M16, V100M32 and A10 there. G2 and G3 are Alibaba-internal names
// with no public spec: they are deliberately absent, and a replay must map them to a model it names.
// None supports bf16; the catalog's fallback uses their fp16 tensor peak for it.
export const NVIDIA_LEGACY: readonly AcceleratorSpec[] = [
  {
    id: 'nvidia-tesla-p100-pcie-16gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA Tesla P100 PCIe 16GB',
    aliases: ['Tesla P100-PCIE-16GB', 'NVIDIA Tesla P100 PCIe 16GB', 'P100'],
    densePeakTflops: { fp64: 4.7, fp32: 9.3, fp16: 18.7 },
    tpp: 299.2,
    dieAreaMm2: 610,
    source: 'https://images.nvidia.com/content/tesla/pdf/nvidia-tesla-p100-PCIe-datasheet.pdf',
  },
  {
    id: 'nvidia-tesla-t4',
    vendor: 'NVIDIA',
    name: 'NVIDIA Tesla T4',
    aliases: ['Tesla T4', 'NVIDIA T4', 'T4'],
    densePeakTflops: { fp32: 8.1, fp16: 65, int8: 130 },
    tpp: 1_040,
    dieAreaMm2: 545,
    source: 'https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/t4-tensor-core-datasheet-951643.pdf',
  },
  {
    id: 'nvidia-tesla-v100-sxm2-16gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA Tesla V100 SXM2 16GB',
    aliases: ['Tesla V100-SXM2-16GB', 'V100M16', 'V100', 'V100 SXM2'],
    densePeakTflops: { fp64: 7.8, fp32: 15.7, fp16: 125 },
    tpp: 2_000,
    dieAreaMm2: 815,
    source: 'https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf',
  },
  {
    id: 'nvidia-tesla-v100-sxm2-32gb',
    vendor: 'NVIDIA',
    name: 'NVIDIA Tesla V100 SXM2 32GB',
    aliases: ['Tesla V100-SXM2-32GB', 'V100M32'],
    densePeakTflops: { fp64: 7.8, fp32: 15.7, fp16: 125 },
    tpp: 2_000,
    dieAreaMm2: 815,
    source: 'https://images.nvidia.com/content/technologies/volta/pdf/volta-v100-datasheet-update-us-1165301-r5.pdf',
  },
  {
    id: 'nvidia-a10',
    vendor: 'NVIDIA',
    name: 'NVIDIA A10',
    aliases: ['NVIDIA A10', 'A10'],
    densePeakTflops: { tf32: 62.5, fp32: 31.2, bf16: 125, fp16: 125, int8: 250 },
    tpp: 2_000,
    dieAreaMm2: 628,
    source: 'https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf',
  },
];
