import { describe, expect, it } from 'vitest';
import { parsePromText } from '../src/dcgm/prom-text.js';

// As dcgm-exporter writes it (HELP/TYPE lines, labels in this order, an HPC job label, a Kubernetes pod).
const PAGE = `# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-5f2b",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1",DCGM_FI_DRIVER_VERSION="535.104.05",container="trainer",namespace="team-a",pod="llm-0"} 87
# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.
# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-5f2b",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1",DCGM_FI_DRIVER_VERSION="535.104.05",container="trainer",namespace="team-a",pod="llm-0"} 0.412345
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="1",UUID="GPU-77aa",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-1",hpc_job="4242"} 4.5e-01 1700000000000
DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-5f2b",Hostname="gpu-node-1"} 1980
`;

describe('parsePromText', () => {
  it('reads every sample of the wanted metrics with their labels, values and optional timestamps', () => {
    const samples = parsePromText(PAGE, { wanted: new Set(['DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', 'DCGM_FI_DEV_GPU_UTIL']) });
    expect(samples).toEqual([
      { name: 'DCGM_FI_DEV_GPU_UTIL', value: 87, labels: { gpu: '0', UUID: 'GPU-5f2b', pci_bus_id: '00000000:07:00.0', device: 'nvidia0', modelName: 'NVIDIA H100 80GB HBM3', Hostname: 'gpu-node-1', DCGM_FI_DRIVER_VERSION: '535.104.05', container: 'trainer', namespace: 'team-a', pod: 'llm-0' } },
      { name: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', value: 0.412345, labels: { gpu: '0', UUID: 'GPU-5f2b', pci_bus_id: '00000000:07:00.0', device: 'nvidia0', modelName: 'NVIDIA H100 80GB HBM3', Hostname: 'gpu-node-1', DCGM_FI_DRIVER_VERSION: '535.104.05', container: 'trainer', namespace: 'team-a', pod: 'llm-0' } },
      { name: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE', value: 0.45, labels: { gpu: '1', UUID: 'GPU-77aa', device: 'nvidia1', modelName: 'NVIDIA H100 80GB HBM3', Hostname: 'gpu-node-1', hpc_job: '4242' } },
    ]);
  });

  it('unescapes label values and reads special values', () => {
    const [a, b, c] = parsePromText('m{a="x\\"y\\\\z\\nw", b="{,}"} +Inf\nm NaN\nm{} -1.5e3\n');
    expect(a).toEqual({ name: 'm', labels: { a: 'x"y\\z\nw', b: '{,}' }, value: Infinity });
    expect(Number.isNaN(b!.value)).toBe(true);
    expect(c).toEqual({ name: 'm', labels: {}, value: -1500 });
  });

  it('reports a malformed line and keeps the lines around it', () => {
    const bad: string[] = [];
    const samples = parsePromText('ok 1\nbroken{a="1" 2\nalso{a=1} 3\nnovalue{a="1"} abc\n{a="1"} 4\nok 5\n', { onBadLine: (line) => bad.push(line) });
    expect(samples.map((s) => s.value)).toEqual([1, 5]);
    expect(bad).toEqual(['broken{a="1" 2', 'also{a=1} 3', 'novalue{a="1"} abc', '{a="1"} 4']);
  });
});
