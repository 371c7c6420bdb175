import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

// The collector's Slurm poller state: a mark per job (how far its run time was produced) per cluster,
// and each slurmrestd endpoint's last successful poll. The mark's text is the collector's to write
// and read; this module only keeps it.

/** The Slurm poller's marks and polls over the store's keys. */
export function createSlurmMarks({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  return {
    /** A cluster's marks: job id → mark text. */
    read: (cluster: string): Promise<Record<string, string>> => redis.hgetall(keys.collector.slurmMarks(cluster)),

    /** Sets marks of a cluster's jobs (job id → mark text). */
    async write(cluster: string, marks: Record<string, string>): Promise<void> {
      if (Object.keys(marks).length > 0) await redis.hset(keys.collector.slurmMarks(cluster), marks);
    },

    /** Drops marks of a cluster's jobs. */
    async drop(cluster: string, jobIds: string[]): Promise<void> {
      if (jobIds.length > 0) await redis.hdel(keys.collector.slurmMarks(cluster), ...jobIds);
    },

    /** How many marks a cluster holds. */
    count: (cluster: string): Promise<number> => redis.hlen(keys.collector.slurmMarks(cluster)),

    /**
     * An endpoint's last successful poll: when (epoch ms, undefined before any) and the clusters it
     * listed (an unreadable list reads as none).
     */
    async lastPoll(endpoint: string): Promise<{ atMs: number | undefined; clusters: string[] }> {
      const state = await redis.hgetall(keys.collector.slurmPolled(endpoint));
      const at = Number(state.at ?? 0);
      let clusters: string[] = [];
      try {
        const parsed: unknown = JSON.parse(state.clusters ?? '[]');
        if (Array.isArray(parsed)) clusters = parsed.filter((c): c is string => typeof c === 'string');
      } catch {
        // An unreadable list only means its clusters' marks wait until a job of theirs is listed again.
      }
      return { atMs: at > 0 ? at : undefined, clusters };
    },

    /** Records an endpoint's successful poll and the clusters it listed. */
    async recordPoll(endpoint: string, atMs: number, clusters: string[]): Promise<void> {
      await redis.hset(keys.collector.slurmPolled(endpoint), { at: String(atMs), clusters: JSON.stringify(clusters) });
    },
  };
}

export type SlurmMarks = ReturnType<typeof createSlurmMarks>;
