import type { Catalog } from '@flopwatch/catalog';
import { densePeakFlops } from '@flopwatch/catalog';
import type { Precision, SlurmMapping } from '@flopwatch/contracts';
import type { TenantMapping } from '../mapping.js';
import type { DCGM_SKIP_REASONS } from '../metrics.js';
import type { GpuObservation, ReportCluster } from './aggregate.js';
import type { PromSample } from './prom-text.js';

export const TENSOR_ACTIVE = 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE';
export const GPU_UTIL = 'DCGM_FI_DEV_GPU_UTIL';

export type DcgmSkipReason = (typeof DCGM_SKIP_REASONS)[number];

/** A Slurm job as slurmrestd lists it: who pays, and which cluster runs it. */
export interface HpcJobInfo {
  account: string;
  cluster: string;
}

export interface ObserveDeps {
  catalog: Catalog;
  precision: Precision;
  tenants: TenantMapping;
  /** The cluster of Kubernetes pods (DCGM_CLUSTER), with its country. */
  cluster: ReportCluster;
  /** SLURM_MAPPING_FILE's clusters: the country of a Slurm job's cluster. */
  slurmClusters: SlurmMapping['clusters'];
  /** The account and cluster of a running Slurm job, for exporters that label GPUs with `hpc_job`. */
  hpcJob: (jobId: string) => HpcJobInfo | undefined;
  skip: (reason: DcgmSkipReason) => void;
}

// A MIG instance (GPU_I_ID) is its own device: it may serve another pod than its siblings.
const gpuId = (labels: Record<string, string>): string => `${labels.UUID || labels.gpu || labels.device || '0'}${labels.GPU_I_ID ? `/${labels.GPU_I_ID}` : ''}`;

// Who a sample says uses the GPU: a pod, a Slurm job, or nobody ('').
const userOf = (labels: Record<string, string>): string =>
  labels.pod && labels.namespace ? `pod\u0000${labels.namespace}\u0000${labels.pod}` : labels.hpc_job ? `hpc\u0000${labels.hpc_job}` : '';

type Job = Pick<GpuObservation, 'tenantId' | 'jobId' | 'labels' | 'cluster'>;

/**
 * One exporter page → one observation per (GPU, job using it). Pods that time-slice one GPU (same
 * UUID, different pods) each get a share of it in thousandths: 1000 split as evenly as whole
 * thousandths allow (the remainder to the first pods in name order), so the shares sum to exactly
 * one GPU, and each share carries the GPU's tensor activity: the GPU's operations are split between
 * its pods, never lost and never counted twice. A sharer that maps to no tenant keeps its share
 * unreported and counted as skipped.
 */
export function observePage(deps: ObserveDeps, fallbackNode: string, samples: PromSample[]): GpuObservation[] {
  // node → gpu → user → its samples
  const byGpu = new Map<string, Map<string, { tensor?: PromSample; util?: PromSample }>>();
  for (const s of samples) {
    const node = s.labels.Hostname || fallbackNode;
    const gpuKey = `${node}\u0000${gpuId(s.labels)}`;
    let users = byGpu.get(gpuKey);
    if (!users) byGpu.set(gpuKey, (users = new Map()));
    const user = userOf(s.labels);
    const entry = users.get(user) ?? {};
    if (s.name === TENSOR_ACTIVE) entry.tensor = s;
    else entry.util = s;
    users.set(user, entry);
  }
  const out: GpuObservation[] = [];
  for (const users of byGpu.values()) {
    const sharers = [...users.keys()].filter((u) => u !== '').sort();
    const base = Math.floor(1000 / Math.max(1, sharers.length));
    const remainder = 1000 - base * sharers.length;
    if (users.has('')) deps.skip('idle');
    sharers.forEach((user, i) => {
      const { tensor, util } = users.get(user)!;
      const sample = (tensor ?? util)!;
      const value = tensor ? tensor.value : util!.value / 100;
      const labels = sample.labels;
      if (!Number.isFinite(value) || value < 0) return deps.skip('bad_sample');
      const job = jobOf(deps, labels);
      if (typeof job === 'string') return deps.skip(job);
      const model = deps.catalog.find(labels.modelName ?? '');
      if (!model) return deps.skip('unknown_model');
      out.push({
        ...job,
        node: labels.Hostname || fallbackNode,
        gpu: gpuId(labels),
        model: model.id,
        peakFlops: densePeakFlops(model, deps.precision),
        milli: base + (i < remainder ? 1 : 0),
        value: Math.min(1, value),
        fallback: !tensor,
      });
    });
  }
  return out;
}

function jobOf(deps: ObserveDeps, labels: Record<string, string>): DcgmSkipReason | Job {
  if (labels.pod && labels.namespace) {
    const tenantId = deps.tenants.namespaces[labels.namespace];
    if (!tenantId) return 'unmapped_job';
    return { tenantId, jobId: `${labels.namespace}/${labels.pod}`, cluster: deps.cluster, labels: { 'k8s.namespace': labels.namespace, 'k8s.pod': labels.pod } };
  }
  const info = deps.hpcJob(labels.hpc_job!);
  const tenantId = info === undefined ? undefined : deps.tenants.accounts[info.account];
  if (!info || !tenantId) return 'unmapped_job';
  // A Slurm job is reported under its own cluster, as the poller and jobcomp report it: the slices meet.
  const mapped = deps.slurmClusters[info.cluster];
  if (!mapped) return 'unmapped_cluster';
  const cluster: ReportCluster = { id: info.cluster, country: mapped.country, ...(mapped.region === undefined ? {} : { region: mapped.region }) };
  return { tenantId, jobId: labels.hpc_job!, cluster, labels: { 'slurm.account': info.account } };
}
