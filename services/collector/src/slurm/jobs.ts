import { gpusFromTres } from '@flopwatch/contracts';

/** A job as the collector needs it, whatever the slurmrestd API version. */
export interface SlurmJob {
  jobId: string;
  account: string;
  cluster: string;
  partition: string;
  state: string;
  /** Start time (epoch ms); undefined when not started. */
  startMs: number | undefined;
  /** Allocated GPUs; undefined when unreadable. */
  gpus: number | undefined;
  nodes: string;
}

type Raw = Record<string, unknown>;

// v0.0.38 writes numbers (`start_time: 1700000000`); v0.0.39+ wrap them: `{ set, infinite, number }`.
function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'number' in v) {
    const o = v as { number?: unknown; set?: unknown };
    if (o.set === false) return undefined;
    return typeof o.number === 'number' ? o.number : undefined;
  }
  return undefined;
}

// v0.0.38/39 write `job_state: "RUNNING"`; v0.0.40+ write a list of flags, base state first.
function stateOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v.includes('RUNNING') ? 'RUNNING' : v[0];
  return '';
}

const GRES_GPU = /^gpu(?::[^:(]+)?:(\d+)/;

/** GPUs from `gres_detail` (one entry per node, e.g. `gpu:h100:4(IDX:0-3)`); undefined when it names none. */
export function gpusFromGresDetail(detail: unknown): number | undefined {
  if (!Array.isArray(detail)) return undefined;
  let total: number | undefined;
  for (const entry of detail) {
    if (typeof entry !== 'string') continue;
    for (const part of entry.split(/,(?![^(]*\))/)) {
      const m = GRES_GPU.exec(part.trim());
      if (m) total = (total ?? 0) + Number(m[1]);
    }
  }
  return total;
}

/** Reads one entry of `GET /slurm/v0.0.XX/jobs`' `jobs`; null when it lacks an id. */
export function readJob(raw: Raw): SlurmJob | null {
  const id = numberOf(raw.job_id);
  if (id === undefined) return null;
  const start = numberOf(raw.start_time);
  const fromGres = gpusFromGresDetail(raw.gres_detail);
  const tres = typeof raw.tres_alloc_str === 'string' ? raw.tres_alloc_str : undefined;
  return {
    jobId: String(id),
    account: typeof raw.account === 'string' ? raw.account : '',
    cluster: typeof raw.cluster === 'string' ? raw.cluster : '',
    partition: typeof raw.partition === 'string' ? raw.partition : '',
    state: stateOf(raw.job_state),
    startMs: start === undefined || start <= 0 ? undefined : start * 1000,
    gpus: fromGres ?? gpusFromTres(tres),
    nodes: typeof raw.nodes === 'string' ? raw.nodes : '',
  };
}
