/** The cluster a report belongs to, with its country (SLURM_MAPPING_FILE's `clusters`). */
export interface ReportCluster {
  id: string;
  country: string;
  region?: string;
}

/** What one scrape says about one GPU (or one job's share of it) that works for a job. */
export interface GpuObservation {
  cluster: ReportCluster;
  node: string;
  /** The GPU's identity on its node (UUID, else index). */
  gpu: string;
  /** Catalog id of the accelerator. */
  model: string;
  /** Dense peak of that accelerator at the reports' precision, in operations per second. */
  peakFlops: number;
  /** Thousandths of the GPU this job holds: 1000, or its share when pods time-slice the GPU. */
  milli: number;
  tenantId: string;
  jobId: string;
  /** Labels the report carries (namespace and pod, or the Slurm job). */
  labels: Record<string, string>;
  /** Tensor-pipe activity of the GPU, 0..1. */
  value: number;
  /** True when `value` is DCGM_FI_DEV_GPU_UTIL / 100 because the exporter has no tensor-active field. */
  fallback: boolean;
}

/** One usage report: a node's GPUs of one job over contiguous observed slots of one period. */
export interface NodeReport {
  cluster: ReportCluster;
  node: string;
  tenantId: string;
  jobId: string;
  /** The model holding most of the job's GPUs on the node (ties: the higher peak, then the id). */
  model: string;
  /** Thousandths of a GPU per model, when the job's GPUs on the node are of more than one model. */
  models: Record<string, number>;
  labels: Record<string, string>;
  startMs: number;
  endMs: number;
  /** Thousandths of a GPU the job held on the node in every slot of the run. */
  milliGpus: number;
  /** Σ over slots and GPUs of share × peak(model) × tensor activity × slot seconds. */
  operations: number;
  /** Mean tensor activity, weighted by each GPU's share. */
  tensorActive: number;
  fallback: boolean;
}

interface Sample {
  value: number;
  fallback: boolean;
  milli: number;
  model: string;
  peakFlops: number;
}

interface Group {
  first: GpuObservation;
  /** slot → gpu → the slot's last sample of that GPU. */
  slots: Map<number, Map<string, Sample>>;
}

export interface PeriodAggregatorOptions {
  /** Length of one slot: the scrape interval. Slots are aligned to the epoch. */
  slotMs: number;
  /** Report period, a whole number of slots, aligned to the epoch. */
  periodMs: number;
}

/**
 * Keeps per-GPU samples by slot and turns each finished period into reports. A slot counts as observed
 * for a GPU when a scrape taken for that slot saw the GPU; a report covers only a run of consecutive
 * observed slots with the same GPUs and shares, so a missed scrape leaves a gap of exactly its slot,
 * never a guess. One (cluster, node, job) is one report per run whatever models its GPUs are.
 */
export function createPeriodAggregator(options: PeriodAggregatorOptions) {
  const { slotMs, periodMs } = options;
  if (!(slotMs > 0) || periodMs % slotMs !== 0) throw new RangeError(`the report period (${periodMs} ms) must be a whole number of scrape intervals (${slotMs} ms)`);
  const periods = new Map<number, Map<string, Group>>();

  return {
    /** Records one target's scrape for the slot containing `atMs`. */
    add(atMs: number, observations: Iterable<GpuObservation>): void {
      const slot = Math.floor(atMs / slotMs);
      const period = Math.floor((slot * slotMs) / periodMs);
      let groups = periods.get(period);
      if (!groups) periods.set(period, (groups = new Map()));
      for (const o of observations) {
        const key = JSON.stringify([o.cluster.id, o.node, o.tenantId, o.jobId]);
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { first: o, slots: new Map() }));
        let gpus = group.slots.get(slot);
        if (!gpus) group.slots.set(slot, (gpus = new Map()));
        gpus.set(o.gpu, { value: o.value, fallback: o.fallback, milli: o.milli, model: o.model, peakFlops: o.peakFlops });
      }
    },
    /** Removes and returns the reports of every period that ended at or before `nowMs`. */
    takeFinished(nowMs: number): NodeReport[] {
      const out: NodeReport[] = [];
      for (const [period, groups] of [...periods].sort(([a], [b]) => a - b)) {
        if ((period + 1) * periodMs > nowMs) continue;
        periods.delete(period);
        for (const group of groups.values()) out.push(...reportsOf(group, slotMs));
      }
      return out;
    },
    /** Periods still open (for tests and the shutdown log). */
    pendingPeriods: (): number => periods.size,
  };
}

function reportsOf(group: Group, slotMs: number): NodeReport[] {
  const out: NodeReport[] = [];
  const slots = [...group.slots.keys()].sort((a, b) => a - b);
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    let operations = 0;
    let weighted = 0;
    let weights = 0;
    let fallback = false;
    for (const slot of run) {
      for (const s of group.slots.get(slot)!.values()) {
        operations += (s.milli / 1000) * s.peakFlops * s.value * (slotMs / 1000);
        weighted += s.milli * s.value;
        weights += s.milli;
        fallback ||= s.fallback;
      }
    }
    // The GPUs and shares are the same in every slot of a run: the first slot describes them all.
    const perModel = new Map<string, { milli: number; peak: number }>();
    for (const s of group.slots.get(run[0]!)!.values()) {
      const m = perModel.get(s.model) ?? { milli: 0, peak: s.peakFlops };
      perModel.set(s.model, { milli: m.milli + s.milli, peak: m.peak });
    }
    const ranked = [...perModel].sort(([ida, a], [idb, b]) => b.milli - a.milli || b.peak - a.peak || (ida < idb ? -1 : 1));
    const milliGpus = ranked.reduce((sum, [, m]) => sum + m.milli, 0);
    const { cluster, node, tenantId, jobId, labels } = group.first;
    out.push({
      cluster,
      node,
      tenantId,
      jobId,
      labels,
      model: ranked[0]![0],
      models: ranked.length > 1 ? Object.fromEntries(ranked.map(([id, m]) => [id, m.milli])) : {},
      startMs: run[0]! * slotMs,
      endMs: (run.at(-1)! + 1) * slotMs,
      milliGpus,
      operations,
      tensorActive: Math.min(1, Math.max(0, weights > 0 ? weighted / weights : 0)),
      fallback,
    });
    run = [];
  };
  const shape = (slot: number) =>
    [...group.slots.get(slot)!]
      .map(([gpu, s]) => `${gpu}\u0001${s.milli}\u0001${s.model}`)
      .sort()
      .join('\u0000');
  for (const slot of slots) {
    const previous = run.at(-1);
    if (previous !== undefined && (slot !== previous + 1 || shape(slot) !== shape(previous))) flush();
    run.push(slot);
  }
  flush();
  return out;
}
