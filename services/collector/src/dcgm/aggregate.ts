/** What one scrape says about one GPU that works for a job. */
export interface GpuObservation {
  node: string;
  /** The GPU's identity on its node (UUID, else index). */
  gpu: string;
  /** Catalog id of the accelerator. */
  model: string;
  tenantId: string;
  jobId: string;
  /** Labels the report carries (namespace and pod, or the Slurm job). */
  labels: Record<string, string>;
  /** Tensor-pipe activity, 0..1. */
  value: number;
  /** True when `value` is DCGM_FI_DEV_GPU_UTIL / 100 because the exporter has no tensor-active field. */
  fallback: boolean;
}

/** One usage report: a node's GPUs of one job over contiguous observed slots of one period. */
export interface NodeReport {
  node: string;
  tenantId: string;
  jobId: string;
  model: string;
  labels: Record<string, string>;
  startMs: number;
  endMs: number;
  gpus: number;
  tensorActive: number;
  fallback: boolean;
}

interface Group {
  first: GpuObservation;
  /** slot → gpu → the slot's last sample of that GPU. */
  slots: Map<number, Map<string, { value: number; fallback: boolean }>>;
}

export interface PeriodAggregatorOptions {
  /** Length of one slot: the scrape interval. Slots are aligned to the epoch. */
  slotMs: number;
  /** Report period, a whole number of slots, aligned to the epoch. */
  periodMs: number;
}

/**
 * Keeps per-GPU samples by slot and turns each finished period into reports. A slot counts as observed
 * for a GPU when a scrape inside it saw the GPU; a report covers only a run of consecutive observed
 * slots with the same GPUs, so a missed scrape leaves a gap of exactly its slot, never a guess.
 */
export function createPeriodAggregator(options: PeriodAggregatorOptions) {
  const { slotMs, periodMs } = options;
  if (!(slotMs > 0) || periodMs % slotMs !== 0) throw new RangeError(`the report period (${periodMs} ms) must be a whole number of scrape intervals (${slotMs} ms)`);
  const periods = new Map<number, Map<string, Group>>();

  return {
    /** Records one scrape taken at `atMs`. */
    add(atMs: number, observations: Iterable<GpuObservation>): void {
      const slot = Math.floor(atMs / slotMs);
      const period = Math.floor((slot * slotMs) / periodMs);
      let groups = periods.get(period);
      if (!groups) periods.set(period, (groups = new Map()));
      for (const o of observations) {
        const key = JSON.stringify([o.node, o.tenantId, o.jobId, o.model]);
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { first: o, slots: new Map() }));
        let gpus = group.slots.get(slot);
        if (!gpus) group.slots.set(slot, (gpus = new Map()));
        gpus.set(o.gpu, { value: o.value, fallback: o.fallback });
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
    let sum = 0;
    let n = 0;
    let fallback = false;
    const gpus = group.slots.get(run[0]!)!.size;
    for (const slot of run) {
      for (const sample of group.slots.get(slot)!.values()) {
        sum += sample.value;
        n++;
        fallback ||= sample.fallback;
      }
    }
    const { node, tenantId, jobId, model, labels } = group.first;
    out.push({ node, tenantId, jobId, model, labels, startMs: run[0]! * slotMs, endMs: (run.at(-1)! + 1) * slotMs, gpus, tensorActive: Math.min(1, Math.max(0, sum / n)), fallback });
    run = [];
  };
  const gpuSet = (slot: number) => [...group.slots.get(slot)!.keys()].sort().join('\u0000');
  for (const slot of slots) {
    const previous = run.at(-1);
    if (previous !== undefined && (slot !== previous + 1 || gpuSet(slot) !== gpuSet(previous))) flush();
    run.push(slot);
  }
  flush();
  return out;
}
