// Subjects whose alert evaluation has not finished. Alerts are state-based: evaluating a subject
// again finds the same alerts and creates only the missing ones. So an evaluation that cannot
// finish — a case that kept changing, a Redis failure, a crash, a bug — is not dropped: its subjects
// are recorded before the attempt and removed only after it succeeds, and the ingest's
// re-evaluation loop retries whatever stays (services/ingest/src/reevaluate.ts). A finished job
// never reports again; without this, its tenant's alerts would never be raised.
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** Subjects of one evaluation, as the ingest's alerts step takes them. */
export interface EvaluationSubjects {
  tenants: string[];
  lineages: string[];
  groups: string[];
}

const PREFIX = { tenants: 't:', lineages: 'l:', groups: 'g:' } as const;

const members = (s: Partial<EvaluationSubjects>): string[] =>
  (Object.keys(PREFIX) as (keyof typeof PREFIX)[]).flatMap((kind) => [...new Set(s[kind] ?? [])].map((id) => PREFIX[kind] + id));

function parse(members: string[]): EvaluationSubjects {
  const out: EvaluationSubjects = { tenants: [], lineages: [], groups: [] };
  for (const m of members) {
    const kind = (Object.keys(PREFIX) as (keyof typeof PREFIX)[]).find((k) => m.startsWith(PREFIX[k]));
    if (kind) out[kind].push(m.slice(2));
  }
  return out;
}

// One script call per this many subjects.
const CHUNK = 1_000;

export function createPendingEvaluations({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const key = keys.evaluations.pending;
  const scripts = defineScripts(redis);
  return {
    /**
     * Records the subjects before their evaluation (lua/mark-evaluations-1.lua); returns the mark to
     * pass to done() once it succeeded. Nothing to record: null.
     */
    async begin(subjects: Partial<EvaluationSubjects>): Promise<number | null> {
      const all = members(subjects);
      let mark: number | null = null;
      for (let i = 0; i < all.length; i += CHUNK) mark = await scripts.markEvaluations({ keys: { pending: key }, args: { subjects: all.slice(i, i + CHUNK) } });
      return mark;
    },

    /** Removes the subjects of an evaluation that succeeded, unless asked for again since `mark`. */
    async done(subjects: Partial<EvaluationSubjects>, mark: number | null): Promise<void> {
      if (mark === null) return;
      const all = members(subjects);
      for (let i = 0; i < all.length; i += CHUNK) await scripts.clearEvaluations({ keys: { pending: key }, args: { mark, subjects: all.slice(i, i + CHUNK) } });
    },

    /**
     * Subjects waiting at least `minAgeMs` (by Redis' clock: attempts in flight are left to their
     * writer), oldest first, at most `limit`.
     */
    async due(limit: number, minAgeMs: number): Promise<EvaluationSubjects> {
      const [seconds, micros] = await redis.time();
      const cutoff = Number(seconds) * 1_000_000 + Number(micros) - minAgeMs * 1000;
      return parse(await redis.zrangebyscore(key, '-inf', cutoff, 'LIMIT', 0, limit));
    },

    /** How many subjects wait, and how long the oldest has waited (seconds; 0 when none). */
    async depth(): Promise<{ count: number; oldestSeconds: number }> {
      const [count, oldest, [seconds, micros]] = await Promise.all([redis.zcard(key), redis.zrange(key, 0, 0, 'WITHSCORES'), redis.time()]);
      const nowMicros = Number(seconds) * 1_000_000 + Number(micros);
      return { count, oldestSeconds: oldest.length === 2 ? Math.max(0, (nowMicros - Number(oldest[1])) / 1e6) : 0 };
    },
  };
}

export type PendingEvaluations = ReturnType<typeof createPendingEvaluations>;
