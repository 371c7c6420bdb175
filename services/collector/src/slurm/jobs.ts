import { gpusFromTres, gpusOfGresEntry, nodeShares, type NodeShare } from '@flopwatch/contracts';

/** A job as the collector needs it, whatever the slurmrestd API version. */
export interface SlurmJob {
  jobId: string;
  account: string;
  cluster: string;
  partition: string;
  state: string;
  /** Start time (epoch ms); undefined when not started. */
  startMs: number | undefined;
  /** End time (epoch ms) of a job in an ended state; undefined otherwise (slurmrestd writes the time limit there). */
  endMs: number | undefined;
  /**
   * `suspend_time` (epoch ms): when the job was last suspended or resumed; undefined when never.
   * With `preSuspendMs` (`pre_sus_time`, the run time before the last suspension) it gives the time
   * the job ran, the way `scontrol show job`'s RunTime is computed.
   */
  suspendMs: number | undefined;
  preSuspendMs: number;
  /** Allocated GPUs; undefined when unreadable. */
  gpus: number | undefined;
  /** The hostlist expression (`gpu[01-03]`). */
  nodes: string;
  /** Each node's GPUs (thousandths); undefined when the node list is unreadable or the job has no GPU count. */
  perNode: NodeShare[] | undefined;
}

type Raw = Record<string, unknown>;

/** Base states of a job that will not run again under its id (`end_time` is then its end). */
export const ENDED_STATES: ReadonlySet<string> = new Set(['COMPLETING', 'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']);

/** A string field of a slurmrestd answer, '' when absent or of another type. */
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

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

/** GPUs from `gres_detail` (one entry per node, e.g. `gpu:h100:4(IDX:0-3)`); undefined when it names none. */
export function gpusFromGresDetail(detail: unknown): number | undefined {
  if (!Array.isArray(detail)) return undefined;
  let total: number | undefined;
  for (const entry of detail) {
    if (typeof entry !== 'string' || !/(?:^|,)\s*gpu[:(]/.test(entry)) continue;
    total = (total ?? 0) + gpusOfGresEntry(entry);
  }
  return total;
}

// `gres:gpu:h100:2` (22.05), `gres/gpu:2` or `gres/gpu=2` (23.02+); a bare `gres:gpu` is one GPU.
// A type is a name with a letter in it (`h100`), never the bare count.
const REQUESTED_GPU = /^gres[:/]gpu(?::(?=[^:=,]*[^\d:=,])[^:=,]+)?(?:[:=](\d+))?$/;

function requestedGpus(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  let total: number | undefined;
  for (const part of text.split(',')) {
    const m = REQUESTED_GPU.exec(part.trim());
    if (!m) continue;
    // `gres:gpu:h100` without a count: the typed name alone is one GPU.
    total = (total ?? 0) + (m[1] === undefined ? 1 : Number(m[1]));
  }
  return total;
}

/**
 * The job's GPUs. `gres_detail` is the allocation, but Slurm empties it when a job ends, and
 * `tres_alloc_str` names GPUs only when AccountingStorageTRES includes gres/gpu; a job seen only
 * after its end is read from its request (`tres_per_node` × nodes, `tres_per_job`, `tres_per_task`
 * × tasks), which is what Slurm allocated for a GPU request.
 */
function gpusOf(raw: Raw, nodeCount: number | undefined): number | undefined {
  const fromGres = gpusFromGresDetail(raw.gres_detail);
  if (fromGres !== undefined) return fromGres;
  const tres = typeof raw.tres_alloc_str === 'string' ? raw.tres_alloc_str : undefined;
  const fromTres = gpusFromTres(tres);
  if (fromTres === undefined || fromTres > 0) return fromTres;
  const perNode = requestedGpus(raw.tres_per_node);
  if (perNode !== undefined) return nodeCount === undefined ? undefined : perNode * nodeCount;
  const perJob = requestedGpus(raw.tres_per_job);
  if (perJob !== undefined) return perJob;
  const perTask = requestedGpus(raw.tres_per_task);
  const tasks = numberOf(raw.tasks);
  if (perTask !== undefined) return tasks === undefined ? undefined : perTask * tasks;
  // GPUs per socket cannot be counted without the sockets used: unreadable, not zero.
  if (requestedGpus(raw.tres_per_socket) !== undefined) return undefined;
  return 0;
}

const seconds = (v: unknown): number | undefined => {
  const n = numberOf(v);
  return n === undefined || n <= 0 ? undefined : n * 1000;
};

/** Reads one entry of `GET /slurm/v0.0.XX/jobs`' `jobs`; null when it lacks an id. */
export function readJob(raw: Raw): SlurmJob | null {
  const id = numberOf(raw.job_id);
  if (id === undefined) return null;
  const state = stateOf(raw.job_state);
  const nodes = text(raw.nodes);
  const nodeCount = numberOf(raw.node_count);
  const gpus = gpusOf(raw, nodeCount);
  const gresDetail = Array.isArray(raw.gres_detail) ? raw.gres_detail.filter((e): e is string => typeof e === 'string') : undefined;
  return {
    jobId: String(id),
    account: text(raw.account),
    cluster: text(raw.cluster),
    partition: text(raw.partition),
    state,
    startMs: seconds(raw.start_time),
    endMs: ENDED_STATES.has(state) ? seconds(raw.end_time) : undefined,
    suspendMs: seconds(raw.suspend_time),
    preSuspendMs: seconds(raw.pre_sus_time) ?? 0,
    gpus,
    nodes,
    perNode: gpus === undefined || gpus === 0 ? undefined : nodeShares(nodes, gpus, gresDetail),
  };
}

/**
 * Where the job's run time ends on a timeline that starts at its start and leaves out suspended
 * time: start + time run (epoch ms), as of `nowMs` for a running job, of its end for an ended one,
 * of its suspension for a suspended one; never past `nowMs`. Undefined when the job is not running,
 * suspended or ended, or its end is unknown or still to come.
 */
export function runEndMs(job: SlurmJob, nowMs: number): number | undefined {
  if (job.startMs === undefined) return undefined;
  const ended = ENDED_STATES.has(job.state);
  // An end still to come is none: a requeued job passes through COMPLETING with its start reset to
  // the requeue and its end at start + time limit (slurmrestd 22.05).
  if (ended && (job.endMs === undefined || job.endMs > nowMs)) return undefined;
  if (!ended && job.state !== 'RUNNING' && job.state !== 'SUSPENDED') return undefined;
  const wallEnd = ended ? job.endMs! : nowMs;
  let ran: number;
  if (job.suspendMs !== undefined && job.suspendMs >= job.startMs) {
    // Suspended now: it ran `pre_sus_time`. Resumed since: that, plus the time since the resume.
    ran = job.state === 'SUSPENDED' ? job.preSuspendMs : job.preSuspendMs + Math.max(0, wallEnd - job.suspendMs);
  } else ran = wallEnd - job.startMs;
  return job.startMs + Math.min(Math.max(0, ran), Math.max(0, wallEnd - job.startMs));
}

// slurmdb v0.0.38 writes `state: { current: "COMPLETED" }`; v0.0.40+ a list of flags there.
function accountingStateOf(v: unknown): string {
  if (v && typeof v === 'object' && 'current' in v) return stateOf((v as { current?: unknown }).current);
  return stateOf(v);
}

/** GPUs of slurmdb's `tres.allocated` (`{ type: "gres", name: "gpu", count }`, one entry per GPU type). */
function gpusFromAllocatedTres(tres: unknown): number {
  const allocated = tres && typeof tres === 'object' ? (tres as { allocated?: unknown }).allocated : undefined;
  if (!Array.isArray(allocated)) return 0;
  let total = 0;
  for (const t of allocated) {
    if (!t || typeof t !== 'object') continue;
    const { type, name, count } = t as { type?: unknown; name?: unknown; count?: unknown };
    // `gpu` is the total; typed entries (`gpu:h100`) repeat parts of it.
    if (type === 'gres' && name === 'gpu') total += numberOf(count) ?? 0;
  }
  return total;
}

/**
 * Reads one job of slurmdbd's `GET /slurmdb/v0.0.XX/jobs` into the shape of a listed job. slurmdbd
 * keeps `time.elapsed`, the run time without suspensions, so the job reads as one never suspended
 * that ran [start, start + elapsed]: runEndMs gives the same end as for the listed job.
 */
export function readAccountingJob(raw: Raw): SlurmJob | null {
  const id = numberOf(raw.job_id);
  if (id === undefined) return null;
  const time = (raw.time && typeof raw.time === 'object' ? raw.time : {}) as Raw;
  const state = accountingStateOf(raw.state);
  const startMs = seconds(time.start);
  const elapsed = numberOf(time.elapsed);
  const nodes = text(raw.nodes);
  const gpus = gpusFromAllocatedTres(raw.tres);
  return {
    jobId: String(id),
    account: text(raw.account),
    cluster: text(raw.cluster),
    partition: text(raw.partition),
    state,
    startMs,
    endMs: ENDED_STATES.has(state) && startMs !== undefined && elapsed !== undefined && elapsed >= 0 ? startMs + elapsed * 1000 : undefined,
    suspendMs: undefined,
    preSuspendMs: 0,
    gpus,
    nodes,
    perNode: gpus === 0 ? undefined : nodeShares(nodes, gpus),
  };
}
