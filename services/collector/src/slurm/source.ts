import type { Logger } from 'pino';
import { USAGE_EVENT_TYPE, usageEventSchema, type SlurmMapping, type UsageEvent } from '@flopwatch/contracts';
import type { RedisClient, Store } from '@flopwatch/store';
import type { Emit } from '../emit.js';
import type { TenantMapping } from '../mapping.js';
import type { CollectorMetrics, SLURM_SKIP_REASONS } from '../metrics.js';
import { rfc3339 } from '../time.js';
import type { SlurmrestdClient } from './client.js';
import type { SlurmJob } from './jobs.js';

export interface SlurmSourceDeps {
  client: SlurmrestdClient;
  redis: RedisClient;
  keys: Store['keys'];
  mapping: SlurmMapping;
  tenants: TenantMapping;
  /** False: list jobs only to map DCGM `hpc_job` labels, produce nothing from Slurm itself. */
  emitJobs: boolean;
  /** Longest interval one event may carry (the policy's maxIntervalSeconds). */
  maxIntervalMs: number;
  emit: Emit;
  metrics: CollectorMetrics;
  log: Logger;
}

export interface SlurmSource {
  /** Lists the jobs and reports every RUNNING GPU job from its last reported end to `nowMs`; false when slurmrestd failed. */
  poll(nowMs: number): Promise<boolean>;
  /** The account of a job seen in the last successful listing. */
  accountOf(jobId: string): string | undefined;
  /** The account and cluster of a job seen in the last successful listing. */
  jobInfo(jobId: string): { account: string; cluster: string } | undefined;
}

type SkipReason = (typeof SLURM_SKIP_REASONS)[number];

// Base states of a job that will not run again under its id.
const ENDED = new Set(['COMPLETING', 'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']);

// Slurm's precision default, as on the jobcomp path.
const DEFAULT_PRECISION = 'bf16';

/**
 * Reports running Slurm jobs as whole-job usage (no node) for the time since the previous poll. The
 * end of what was reported per job is kept in Redis after Kafka took the events, so a restarted poller
 * resumes there; with the mark lost it starts again from the job's start, which the ingest's
 * covered-time accounting counts once.
 */
export function createSlurmSource(deps: SlurmSourceDeps): SlurmSource {
  const log = deps.log.child({ component: 'slurm' });
  let listed = new Map<string, { account: string; cluster: string }>();
  let healthy: boolean | undefined;

  function skip(job: SlurmJob, reason: SkipReason, detail: string) {
    deps.metrics.slurmSkipped.labels(reason).inc();
    log.debug({ jobId: job.jobId, cluster: job.cluster, reason, detail }, 'running job skipped');
  }

  function eventsOf(job: SlurmJob & { gpus: number; startMs: number }, fromMs: number, toMs: number, tenantId: string): UsageEvent[] | SkipReason {
    const partition = deps.mapping.partitions[job.partition];
    if (!partition) return 'unmapped_partition';
    const cluster = deps.mapping.clusters[job.cluster];
    if (!cluster) return 'unmapped_cluster';
    const out: UsageEvent[] = [];
    for (let from = fromMs; from < toMs; from += deps.maxIntervalMs) {
      const to = Math.min(from + deps.maxIntervalMs, toMs);
      const parsed = usageEventSchema.safeParse({
        specversion: '1.0',
        type: USAGE_EVENT_TYPE,
        source: `slurmrestd://${job.cluster}`,
        id: `${job.cluster}/${job.jobId}/running/${rfc3339(from)}/${rfc3339(to)}`,
        time: rfc3339(to),
        subject: tenantId,
        data: {
          tenantId,
          jobId: job.jobId,
          cluster: { id: job.cluster, country: cluster.country, ...(cluster.region === undefined ? {} : { region: cluster.region }) },
          accelerator: { model: partition.accelerator, count: job.gpus },
          interval: { start: rfc3339(from), end: rfc3339(to) },
          precision: partition.precision ?? DEFAULT_PRECISION,
          labels: { 'slurm.partition': job.partition, 'slurm.account': job.account, 'slurm.state': job.state },
        },
      });
      if (!parsed.success) {
        log.warn({ jobId: job.jobId, issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'running job maps to an invalid usage event');
        return 'invalid_event';
      }
      out.push(parsed.data);
    }
    return out;
  }

  return {
    async poll(nowMs) {
      let jobs: SlurmJob[];
      try {
        jobs = await deps.client.jobs();
      } catch (err) {
        deps.metrics.polls.labels('error').inc();
        deps.metrics.slurmUp.labels(deps.client.endpoint).set(0);
        if (healthy !== false) log.warn({ err }, 'slurmrestd poll failed; running jobs are reported from their last mark when it answers');
        healthy = false;
        return false;
      }
      deps.metrics.polls.labels('ok').inc();
      deps.metrics.slurmUp.labels(deps.client.endpoint).set(1);
      if (healthy === false) log.info('slurmrestd answers again');
      healthy = true;
      listed = new Map(jobs.map((j) => [j.jobId, { account: j.account, cluster: j.cluster }]));
      const toMs = Math.floor(nowMs / 1000) * 1000;
      const byCluster = new Map<string, SlurmJob[]>();
      for (const job of jobs) byCluster.set(job.cluster, [...(byCluster.get(job.cluster) ?? []), job]);
      let gpuJobs = 0;
      for (const [cluster, clusterJobs] of byCluster) {
        const key = deps.keys.collector.slurmMarks(cluster);
        const marks = await deps.redis.hgetall(key);
        const events: UsageEvent[] = [];
        const advanced: Record<string, string> = {};
        // A suspended or requeued job keeps its mark; one that ended (or left the listing) drops it.
        const live = new Set(clusterJobs.filter((j) => !ENDED.has(j.state)).map((j) => j.jobId));
        for (const job of clusterJobs) {
          if (job.state !== 'RUNNING' || job.startMs === undefined) continue;
          if (job.gpus === undefined) {
            skip(job, 'unreadable_gpus', 'gres_detail and tres_alloc_str name no readable GPU count');
            continue;
          }
          if (job.gpus === 0) continue;
          gpuJobs++;
          if (!deps.emitJobs) continue;
          const tenantId = deps.tenants.accounts[job.account];
          if (!tenantId) {
            skip(job, 'unmapped_account', job.account);
            continue;
          }
          const fromMs = Math.max(job.startMs, Number(marks[job.jobId] ?? 0));
          if (toMs - fromMs < 1000) continue;
          const jobEvents = eventsOf({ ...job, gpus: job.gpus, startMs: job.startMs }, fromMs, toMs, tenantId);
          if (typeof jobEvents === 'string') {
            skip(job, jobEvents, `${job.partition} / ${job.cluster}`);
            continue;
          }
          events.push(...jobEvents);
          advanced[job.jobId] = String(toMs);
        }
        // The mark moves only once Kafka has the events: a failed send is reported again next poll.
        await deps.emit('slurm', events);
        if (Object.keys(advanced).length > 0) await deps.redis.hset(key, advanced);
        const ended = Object.keys(marks).filter((id) => !live.has(id));
        if (ended.length > 0) await deps.redis.hdel(key, ...ended);
      }
      deps.metrics.runningJobs.labels(deps.client.endpoint).set(gpuJobs);
      return true;
    },
    accountOf: (jobId) => listed.get(jobId)?.account,
    jobInfo: (jobId) => listed.get(jobId),
  };
}
