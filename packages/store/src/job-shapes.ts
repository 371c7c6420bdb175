import type { UsageRecord } from './accounting.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

// The co-scheduling record (docs/detection.md): per cluster, each job's first and last
// reported minute and its shape, for the behavioural-link analysis. Three keys per cluster under one
// hash tag, written beside the apply (never inside it), a few O(log n) commands per job per batch:
//   {js:<cluster>}:start  ZSET  <tenant>\0<job> → first minute (ZADD LT: only ever lowers)
//   {js:<cluster>}:end    ZSET  <tenant>\0<job> → last minute (ZADD GT: only ever raises)
//   {js:<cluster>}:shape  HASH  <tenant>\0<job> → `<accelerator>×<GPUs per report>` (first seen)
//   {js}:clusters         SET   clusters with a record

export interface JobShapeRecord {
  tenantId: string;
  jobId: string;
  startMin: number;
  endMin: number;
  shape: string;
}

export function jobShapeKeys(keys: Pick<Keys, 'prefix'>) {
  const c = (cluster: string) => `${keys.prefix}{js:${cluster}}`;
  return {
    start: (cluster: string) => `${c(cluster)}:start`,
    end: (cluster: string) => `${c(cluster)}:end`,
    shape: (cluster: string) => `${c(cluster)}:shape`,
    clusters: `${keys.prefix}{js}:clusters`,
  };
}

const MINUTE = 60_000;

/** `<accelerator>×<GPUs>`, GPUs as the report's count (fractional shares keep three decimals). */
export const shapeOf = (acceleratorId: string, milliGpus: number) => `${acceleratorId}×${milliGpus % 1000 === 0 ? milliGpus / 1000 : (milliGpus / 1000).toFixed(3)}`;

/** Jobs whose written minutes this process remembers (cleared when full): writes that would change nothing are skipped. */
const REMEMBERED_JOBS = 50_000;

export function createJobShapes({ redis, keys }: { redis: RedisClient; keys: Pick<Keys, 'prefix'> }) {
  const k = jobShapeKeys(keys);
  // What this process wrote: a running job's start and shape are written once and its end once per
  // minute it moves, not once per batch (ZADD LT/GT make the skipped writes no-ops anyway).
  const written = new Map<string, { start: number; end: number }>();
  const clustersWritten = new Set<string>();
  return {
    keys: k,
    /**
     * Folds a batch's reports into the record: per job one start, end and shape command each (the
     * batch's earliest start and latest end of the job), whatever the number of its reports.
     */
    async record(records: readonly Pick<UsageRecord, 'tenantId' | 'jobKey' | 'startMs' | 'endMs' | 'acceleratorId' | 'milliGpus'>[]): Promise<number> {
      const jobs = new Map<string, { cluster: string; member: string; start: number; end: number; shape: string }>();
      for (const r of records) {
        const slash = r.jobKey.indexOf('/');
        if (slash <= 0) continue;
        const id = `${r.tenantId}\u0000${r.jobKey}`;
        const j = jobs.get(id);
        const start = Math.floor(r.startMs / MINUTE);
        const end = Math.floor(r.endMs / MINUTE);
        if (j) {
          j.start = Math.min(j.start, start);
          j.end = Math.max(j.end, end);
        } else {
          jobs.set(id, { cluster: r.jobKey.slice(0, slash), member: `${r.tenantId}\u0000${r.jobKey.slice(slash + 1)}`, start, end, shape: shapeOf(r.acceleratorId, r.milliGpus) });
        }
      }
      if (jobs.size === 0) return 0;
      // Single-key commands (Redis Cluster places each cluster's keys in their own slot); the client pipelines them.
      const clusters = new Set<string>();
      const writes: Promise<unknown>[] = [];
      const done: [string, { start: number; end: number }][] = [];
      for (const [id, j] of jobs) {
        const before = written.get(id);
        if (!clustersWritten.has(j.cluster)) clusters.add(j.cluster);
        if (!before || j.start < before.start) writes.push(redis.zadd(k.start(j.cluster), 'LT', j.start, j.member), redis.hsetnx(k.shape(j.cluster), j.member, j.shape));
        if (!before || j.end > before.end) writes.push(redis.zadd(k.end(j.cluster), 'GT', j.end, j.member));
        done.push([id, { start: Math.min(j.start, before?.start ?? Infinity), end: Math.max(j.end, before?.end ?? -Infinity) }]);
      }
      if (clusters.size > 0) writes.push(redis.sadd(k.clusters, ...clusters));
      await Promise.all(writes);
      if (written.size + done.length > REMEMBERED_JOBS) written.clear();
      for (const [id, w] of done) written.set(id, w);
      for (const c of clusters) clustersWritten.add(c);
      return jobs.size;
    },

    /** Clusters with a record. */
    clusters: () => redis.smembers(k.clusters),

    /** A cluster's jobs that started at or after `sinceMin` (minutes since the epoch). */
    async jobs(cluster: string, sinceMin = 0): Promise<JobShapeRecord[]> {
      const [starts, ends, shapes] = await Promise.all([
        redis.zrangebyscore(k.start(cluster), sinceMin, '+inf', 'WITHSCORES'),
        redis.zrange(k.end(cluster), 0, -1, 'WITHSCORES'),
        redis.hgetall(k.shape(cluster)),
      ]);
      const endOf = new Map<string, number>();
      for (let i = 0; i + 1 < ends.length; i += 2) endOf.set(ends[i]!, Number(ends[i + 1]));
      const out: JobShapeRecord[] = [];
      for (let i = 0; i + 1 < starts.length; i += 2) {
        const member = starts[i]!;
        const cut = member.indexOf('\u0000');
        const startMin = Number(starts[i + 1]);
        out.push({ tenantId: member.slice(0, cut), jobId: member.slice(cut + 1), startMin, endMin: endOf.get(member) ?? startMin, shape: shapes[member] ?? '' });
      }
      return out;
    },

    /** Drops a cluster's jobs that ended before `beforeMin` (retention; a running job stays); returns how many. */
    async trim(cluster: string, beforeMin: number): Promise<number> {
      const old = await redis.zrangebyscore(k.end(cluster), '-inf', `(${beforeMin}`);
      for (const member of old) written.delete(`${member.slice(0, member.indexOf('\u0000'))}\u0000${cluster}/${member.slice(member.indexOf('\u0000') + 1)}`);
      for (let i = 0; i < old.length; i += 500) {
        const part = old.slice(i, i + 500);
        await Promise.all([redis.zrem(k.start(cluster), ...part), redis.zrem(k.end(cluster), ...part), redis.hdel(k.shape(cluster), ...part)]);
      }
      return old.length;
    },
  };
}

export type JobShapes = ReturnType<typeof createJobShapes>;
