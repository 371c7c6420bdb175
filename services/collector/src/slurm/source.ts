import type { Logger } from 'pino';
import { USAGE_EVENT_TYPE, usageEventSchema, type NodeShare, type SlurmMapping, type UsageEvent } from '@flopwatch/contracts';
import type { SlurmMarks } from '@flopwatch/store';
import type { Emit } from '../emit.js';
import type { TenantMapping } from '../mapping.js';
import type { CollectorMetrics, SLURM_SKIP_REASONS } from '../metrics.js';
import { rfc3339 } from '../time.js';
import type { SlurmrestdClient } from './client.js';
import { ENDED_STATES, runEndMs, type SlurmJob } from './jobs.js';

export interface SlurmSourceDeps {
  client: SlurmrestdClient;
  /** The store's Slurm marks and polls (store.slurmMarks). */
  marks: SlurmMarks;
  mapping: SlurmMapping;
  tenants: TenantMapping;
  /** False: list jobs only to map DCGM `hpc_job` labels, produce nothing from Slurm itself. */
  emitJobs: boolean;
  /** Longest interval one event may carry (the policy's maxIntervalSeconds). */
  maxIntervalMs: number;
  /**
   * slurmctld's MinJobAge (default 300 s): how long an ended job stays in the listing. Polls further
   * apart than this may miss jobs that started and ended between them; that time is counted.
   */
  minJobAgeMs?: number;
  emit: Emit;
  metrics: CollectorMetrics;
  log: Logger;
}

export interface SlurmSource {
  /**
   * Lists the jobs; reports every GPU job's run time since its mark: up to `nowMs` for a running job,
   * to its end for one that ended (then its mark is final). False when slurmrestd failed.
   */
  poll(nowMs: number): Promise<boolean>;
  /** The account of a job in the last successful listing (running, or ended within MinJobAge). */
  accountOf(jobId: string): string | undefined;
  /** Account and Slurm cluster of a job in the last successful listing, for DCGM's `hpc_job` labels. */
  jobInfo(jobId: string): { account: string; cluster: string } | undefined;
}

type SkipReason = (typeof SLURM_SKIP_REASONS)[number];

// Slurm's precision default, as on the jobcomp path.
const DEFAULT_PRECISION = 'bf16';
const DEFAULT_MIN_JOB_AGE_MS = 300_000;

/**
 * A job's mark: `t`, the end (on the job's run-time timeline, see runEndMs) of what Kafka has taken;
 * `done` once its end was reported; `alloc`, its GPUs per node as seen while it ran (Slurm empties
 * `gres_detail` when a job ends). Stored as JSON; a bare number is a mark of an older collector.
 */
interface Mark {
  t: number;
  done: boolean;
  alloc: NodeShare[] | undefined;
  /** The start of the run the mark is of: a requeued job runs again under its id from a later start. */
  start: number | undefined;
}

function readMark(text: string): Mark | undefined {
  if (/^\d+$/.test(text)) return { t: Number(text), done: false, alloc: undefined, start: undefined };
  try {
    const raw = JSON.parse(text) as { t?: unknown; d?: unknown; n?: unknown; s?: unknown };
    if (typeof raw.t !== 'number') return undefined;
    const alloc = Array.isArray(raw.n)
      ? raw.n.flatMap((e) => (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number' ? [{ node: e[0], gpus: e[1] / 1000 }] : []))
      : undefined;
    return { t: raw.t, done: raw.d === 1, alloc: alloc && alloc.length > 0 ? alloc : undefined, start: typeof raw.s === 'number' ? raw.s : undefined };
  } catch {
    return undefined;
  }
}

function writeMark(mark: Mark): string {
  return JSON.stringify({ t: mark.t, ...(mark.start === undefined ? {} : { s: mark.start }), ...(mark.done ? { d: 1 } : {}), ...(mark.alloc ? { n: mark.alloc.map((s) => [s.node, Math.round(s.gpus * 1000)]) } : {}) });
}

/**
 * Reports Slurm GPU jobs per node, counted to the second. Each job's run time is laid on a timeline
 * that starts at its start and leaves out suspended time, so `[start, start + time run]` is what it
 * used, whatever its suspensions; a poll reports the stretch from the job's mark to that end. A job
 * that ended is reported up to its `end_time` and its mark kept, final, while slurmrestd still lists
 * it (MinJobAge), so it is reported once; one first seen ended is reported whole. Marks move only
 * after Kafka took the events, so a restart or a failed send reports the same stretch again. After
 * an outage longer than MinJobAge, jobs that ended unlisted are read from slurmdbd when slurmrestd
 * serves it; a job whose mark was not final when it left the listing, and that slurmdbd did not
 * give back, is counted as unrecovered.
 */
export function createSlurmSource(deps: SlurmSourceDeps): SlurmSource {
  const log = deps.log.child({ component: 'slurm' });
  const minJobAgeMs = deps.minJobAgeMs ?? DEFAULT_MIN_JOB_AGE_MS;
  let listed = new Map<string, { account: string; cluster: string }>();
  let healthy: boolean | undefined;
  // Both exist from the start, at zero, so the operator rules over them always have a series.
  deps.metrics.slurmUnrecovered.labels(deps.client.endpoint).inc(0);
  deps.metrics.slurmUnobservedSeconds.labels(deps.client.endpoint).inc(0);

  function skip(job: SlurmJob, reason: SkipReason, detail: string) {
    deps.metrics.slurmSkipped.labels(reason).inc();
    log.debug({ jobId: job.jobId, cluster: job.cluster, state: job.state, reason, detail }, 'GPU job skipped');
  }

  function unrecovered(jobId: string, cluster: string, mark: Mark | undefined, msg: string) {
    deps.metrics.slurmUnrecovered.labels(deps.client.endpoint).inc();
    const gpus = mark?.alloc?.reduce((a, s) => a + s.gpus, 0);
    log.warn({ jobId, cluster, reportedUntil: mark ? new Date(mark.t).toISOString() : undefined, gpus }, msg);
  }

  function eventsOf(job: SlurmJob, shares: NodeShare[], fromMs: number, toMs: number, tenantId: string): UsageEvent[] | SkipReason {
    const partition = deps.mapping.partitions[job.partition];
    if (!partition) return 'unmapped_partition';
    const cluster = deps.mapping.clusters[job.cluster];
    if (!cluster) return 'unmapped_cluster';
    const out: UsageEvent[] = [];
    for (const share of shares) {
      for (let from = fromMs; from < toMs; from += deps.maxIntervalMs) {
        const to = Math.min(from + deps.maxIntervalMs, toMs);
        const parsed = usageEventSchema.safeParse({
          specversion: '1.0',
          type: USAGE_EVENT_TYPE,
          source: `slurmrestd://${job.cluster}`,
          id: `${job.cluster}/${job.jobId}/${share.node}/running/${rfc3339(from)}/${rfc3339(to)}`,
          time: rfc3339(to),
          subject: tenantId,
          data: {
            tenantId,
            jobId: job.jobId,
            node: share.node,
            cluster: { id: job.cluster, country: cluster.country, ...(cluster.region === undefined ? {} : { region: cluster.region }) },
            accelerator: { model: partition.accelerator, count: share.gpus },
            interval: { start: rfc3339(from), end: rfc3339(to) },
            precision: partition.precision ?? DEFAULT_PRECISION,
            labels: { 'slurm.partition': job.partition, 'slurm.account': job.account, 'slurm.state': job.state },
          },
        });
        if (!parsed.success) {
          log.warn({ jobId: job.jobId, node: share.node, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'GPU job maps to an invalid usage event');
          return 'invalid_event';
        }
        out.push(parsed.data);
      }
    }
    return out;
  }

  /**
   * Reads the endpoint's last successful poll: the clusters it listed, so a cluster whose jobs all
   * left the listing still has its marks examined; `unobserved` counts the time since it beyond
   * MinJobAge (jobs may have come and gone unseen in it); `record` records this poll.
   */
  async function lastPoll(nowMs: number) {
    const { atMs: previous, clusters } = await deps.marks.lastPoll(deps.client.endpoint);
    const unobserved = () => {
      if (!(previous !== undefined && nowMs - previous > minJobAgeMs)) return;
      const unseenMs = nowMs - previous - minJobAgeMs;
      deps.metrics.slurmUnobservedSeconds.labels(deps.client.endpoint).inc(unseenMs / 1000);
      log.warn({ lastPoll: new Date(previous).toISOString(), unobservedSeconds: unseenMs / 1000, minJobAgeSeconds: minJobAgeMs / 1000 }, 'polls further apart than MinJobAge, without slurmdbd: jobs that started and ended in between were not seen');
    };
    return { previous, clusters, unobserved, record: (seen: string[]) => deps.marks.recordPoll(deps.client.endpoint, nowMs, seen) };
  }

  /**
   * With slurmdbd behind slurmrestd: the jobs that ended since `sinceMs` but are no longer listed
   * (an outage longer than MinJobAge), read from the accounting database. Empty without slurmdbd or
   * when it fails (then what left the listing is counted as unrecovered, and the failure logged).
   */
  async function fromAccounting(sinceMs: number, nowMs: number, listedIds: Set<string>): Promise<SlurmJob[] | undefined> {
    const read = deps.client.accountingJobs;
    if (!read) return undefined;
    try {
      // A few seconds more than the gap: Slurm's times are whole seconds, `now` is slurmrestd's.
      const jobs = await read(nowMs - sinceMs + 5_000);
      deps.metrics.polls.labels('accounting_ok').inc();
      return jobs.filter((j) => !listedIds.has(j.jobId) && ENDED_STATES.has(j.state));
    } catch (err) {
      deps.metrics.polls.labels('accounting_error').inc();
      log.warn({ err }, 'slurmdbd (through slurmrestd) could not be read: jobs that left the listing are counted as unrecovered');
      return undefined;
    }
  }

  return {
    async poll(nowMs) {
      let jobs: SlurmJob[];
      try {
        jobs = await deps.client.jobs();
      } catch (err) {
        deps.metrics.polls.labels('error').inc();
        deps.metrics.slurmUp.labels(deps.client.endpoint).set(0);
        if (healthy !== false) log.warn({ err }, 'slurmrestd poll failed; jobs are reported from their marks when it answers');
        healthy = false;
        return false;
      }
      deps.metrics.polls.labels('ok').inc();
      deps.metrics.slurmUp.labels(deps.client.endpoint).set(1);
      if (healthy === false) log.info('slurmrestd answers again');
      healthy = true;
      listed = new Map(jobs.map((j) => [j.jobId, { account: j.account, cluster: j.cluster }]));
      const toMs = Math.floor(nowMs / 1000) * 1000;
      const polled = deps.emitJobs ? await lastPoll(toMs) : undefined;
      const byCluster = new Map<string, SlurmJob[]>((polled?.clusters ?? []).map((c) => [c, []]));
      for (const job of jobs) byCluster.set(job.cluster, [...(byCluster.get(job.cluster) ?? []), job]);
      const marksOf = new Map<string, Record<string, string>>();
      for (const cluster of byCluster.keys()) marksOf.set(cluster, await deps.marks.read(cluster));
      // After an outage longer than MinJobAge, jobs may have ended unlisted: slurmdbd still has them.
      let recoveredFromAccounting = false;
      let recoveredJobs = 0;
      if (polled && deps.client.accountingJobs) {
        const listedIds = new Set(jobs.map((j) => j.jobId));
        let since = polled.previous !== undefined && toMs - polled.previous > minJobAgeMs ? polled.previous : undefined;
        for (const marks of marksOf.values()) {
          for (const [id, text] of Object.entries(marks)) {
            const mark = readMark(text);
            if (!listedIds.has(id) && mark && !mark.done) since = Math.min(since ?? mark.t, mark.t);
          }
        }
        if (since !== undefined) {
          const result = await fromAccounting(since, toMs, listedIds);
          recoveredFromAccounting = result !== undefined;
          const recovered = result ?? [];
          for (const job of recovered) {
            byCluster.set(job.cluster, [...(byCluster.get(job.cluster) ?? []), job]);
            if (!marksOf.has(job.cluster)) marksOf.set(job.cluster, await deps.marks.read(job.cluster));
          }
          if (recovered.length > 0) log.info({ jobs: recovered.length, since: new Date(since).toISOString() }, 'ended jobs no longer listed read from slurmdbd');
          recoveredJobs = recovered.length;
        }
      }
      let gpuJobs = 0;
      for (const [cluster, clusterJobs] of byCluster) {
        const marks = marksOf.get(cluster) ?? {};
        const events: UsageEvent[] = [];
        const advanced: Record<string, string> = {};
        const requeued: string[] = [];
        for (const job of clusterJobs) {
          const runEnd = runEndMs(job, toMs);
          if (runEnd === undefined) {
            // Pending again with a mark of a run not ended: requeued (scontrol requeue, preemption,
            // node failure). The listing has no end for that run: its time after the mark is lost.
            const stored = marks[job.jobId] === undefined ? undefined : readMark(marks[job.jobId]!);
            if (stored && !stored.done && job.state === 'PENDING') {
              unrecovered(job.jobId, cluster, stored, 'job requeued before its end was seen: its time after the mark is not counted');
              requeued.push(job.jobId);
            }
            continue;
          }
          if (job.gpus === undefined) {
            skip(job, 'unreadable_gpus', 'gres_detail, tres_alloc_str and the GPU request name no readable GPU count');
            continue;
          }
          if (job.gpus === 0) continue;
          if (job.state === 'RUNNING') gpuJobs++;
          if (!deps.emitJobs) continue;
          const stored = marks[job.jobId] === undefined ? undefined : readMark(marks[job.jobId]!);
          // A mark of an earlier run (the job was requeued) says nothing about this one.
          const mark = stored && (stored.start === undefined || stored.start === job.startMs) ? stored : undefined;
          if (mark?.done) continue;
          const tenantId = deps.tenants.accounts[job.account];
          if (!tenantId) {
            skip(job, 'unmapped_account', job.account);
            continue;
          }
          const shares = mark?.alloc ?? job.perNode;
          if (!shares) {
            skip(job, 'unreadable_nodes', job.nodes);
            continue;
          }
          const fromMs = Math.max(job.startMs!, mark?.t ?? 0);
          if (runEnd > fromMs) {
            const jobEvents = eventsOf(job, shares, fromMs, runEnd, tenantId);
            if (typeof jobEvents === 'string') {
              skip(job, jobEvents, `${job.partition} / ${job.cluster}`);
              continue;
            }
            events.push(...jobEvents);
          }
          advanced[job.jobId] = writeMark({ t: Math.max(fromMs, runEnd), done: ENDED_STATES.has(job.state), alloc: shares, start: job.startMs });
        }
        // The mark moves only once Kafka has the events: a failed send is reported again next poll.
        await deps.emit('slurm', events);
        await deps.marks.write(cluster, advanced);
        await deps.marks.drop(cluster, requeued);
        // A job that left the listing drops its mark; if its end was never reported, that end is lost.
        const present = new Set(clusterJobs.map((j) => j.jobId));
        const gone = Object.keys(marks).filter((id) => !present.has(id));
        for (const id of gone) {
          const mark = readMark(marks[id]!);
          if (mark?.done) continue;
          unrecovered(id, cluster, mark, 'job left the listing before its end was seen (collector down longer than MinJobAge): its time after the mark is not counted');
        }
        await deps.marks.drop(cluster, gone);
      }
      // A cluster with neither jobs nor marks left is forgotten.
      const seen = await Promise.all([...byCluster].map(async ([c, js]) => (js.length > 0 || (await deps.marks.count(c)) > 0 ? [c] : [])));
      // Counted once the poll went through: a failed send makes the next poll cover the same gap.
      deps.metrics.slurmRecovered.inc(recoveredJobs);
      if (!recoveredFromAccounting) polled?.unobserved();
      await polled?.record(seen.flat());
      deps.metrics.runningJobs.labels(deps.client.endpoint).set(gpuJobs);
      return true;
    },
    accountOf: (jobId) => listed.get(jobId)?.account,
    jobInfo: (jobId) => listed.get(jobId),
  };
}
