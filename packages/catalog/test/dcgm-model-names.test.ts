import { describe, expect, it } from 'vitest';
import { findAccelerator } from '../src/index.js';

// The `modelName` label dcgm-exporter writes is the NVML device name (as `nvidia-smi -L` prints it).
const NVML_NAMES: [string, string][] = [
  ['NVIDIA H100 80GB HBM3', 'nvidia-h100-sxm5-80gb'],
  ['NVIDIA H100 PCIe', 'nvidia-h100-pcie-80gb'],
  ['NVIDIA H100 NVL', 'nvidia-h100-nvl-94gb'],
  ['NVIDIA H800 80GB HBM3', 'nvidia-h800-sxm5-80gb'],
  ['NVIDIA H200', 'nvidia-h200-sxm-141gb'],
  ['NVIDIA A100-SXM4-80GB', 'nvidia-a100-sxm4-80gb'],
  ['NVIDIA A100-SXM4-40GB', 'nvidia-a100-sxm4-80gb'],
  ['NVIDIA A100 80GB PCIe', 'nvidia-a100-pcie-80gb'],
  ['NVIDIA L40S', 'nvidia-l40s'],
  ['NVIDIA B200', 'nvidia-b200'],
  ['Tesla V100-SXM2-32GB', 'nvidia-tesla-v100-sxm2-32gb'],
];

describe('DCGM modelName labels', () => {
  it.each(NVML_NAMES)('%s resolves to %s', (name, id) => {
    expect(findAccelerator(name)?.id).toBe(id);
  });
});
