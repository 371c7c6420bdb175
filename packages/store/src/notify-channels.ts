// The notifier's per-channel state under the {alerts} hash tag: which channels are finished with an
// outbox entry, the entries a channel holds while it waits out a failure, the cases kept firing in
// Alertmanager (their alerts and re-send schedule), and the dead letters of the Kafka and
// Alertmanager channels (and their redelivery). Webhook deliveries keep their own state (webhooks.ts).
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** A channel's mark on an outbox entry. */
export type ChannelMark = 'done' | 'dead';

/** The case key (rule + scope + subject) as the Alertmanager schedule keeps it. */
export interface TrackedCase {
  rule: string;
  scope: string;
  subject: string;
  /** Labels of the last alert Alertmanager accepted for the case (to resolve them if they change). */
  lastLabels: Record<string, string> | null;
  /** Failed sends in a row. */
  failures: number;
  /** True after Alertmanager rejected the case (400), until it accepts it again. */
  rejected: boolean;
}

/** A dead letter of the Kafka or Alertmanager channel. */
export interface ChannelDeadLetter {
  channel: string;
  reason: string;
  at: string;
  alertId: string | null;
  /** The outbox event (`alert.raised`, `alert.updated`), to publish it again as it was; absent in letters of older versions. */
  type?: string;
  caseId: string | null;
  entryId: string | null;
  error: string;
}

/** Why a channel holds entries instead of dead-lettering them: refused credentials or ACL, or unreachable. */
export type HoldReason = 'auth' | 'unavailable';

/** The entries one channel holds, and why (the reason of its last failure). */
export interface ChannelHold {
  channel: string;
  reason: HoldReason;
  entries: number;
  /** When the longest-held entry was first held (ms), or null when none is. */
  oldestAt: number | null;
}

/** Dead letters handed back to their channel, by channel. */
export interface Redelivered {
  kafka: number;
  alertmanager: number;
}

/** The alerts of a case and whether it is open; the one place that decides it (the cases store may take it over). */
export interface CaseState<A> {
  open: boolean;
  alerts: A[];
}

const CLOSED = new Set(['resolved', 'false_positive']);

export interface NotifyChannelsOptions {
  redis: RedisClient;
  keys: Keys;
  /** Dead letters kept. Default 10 000. */
  deadCap?: number;
}

export function createNotifyChannels(options: NotifyChannelsOptions) {
  const { keys } = options;
  const k = keys.alerts;
  const { redis } = options;
  const scripts = defineScripts(redis);
  const deadCap = options.deadCap ?? 10_000;

  return {
    /** The marks each channel left on these entries (entry id → channel → mark). */
    async marks(entryIds: string[]): Promise<Map<string, Map<string, ChannelMark>>> {
      const all = await Promise.all(entryIds.map((id) => redis.hgetall(k.channels(id))));
      return new Map(entryIds.map((id, i) => [id, new Map(Object.entries(all[i] ?? {}) as [string, ChannelMark][])]));
    },

    /**
     * Marks `channel` finished with the entry (and no longer holding it); acknowledges it when all
     * `required` are (see lua/settle-channel-3.lua).
     */
    async settle(group: string, entryId: string, channel: string, mark: ChannelMark, required: readonly string[]): Promise<boolean> {
      return scripts.settleChannel({ keys: { outbox: k.outbox, channels: k.channels(entryId), held: k.held(channel) }, args: { group, entryId, channel, mark, required } });
    },

    /** Records that `channel` holds these entries pending (kept since the first time), for `reason`. */
    async hold(channel: string, reason: HoldReason, entryIds: string[], now: number): Promise<void> {
      if (entryIds.length === 0) return;
      await redis.multi().zadd(k.held(channel), 'NX', ...entryIds.flatMap((id) => [now, id])).hset(k.holdReasons, channel, reason).exec();
    },

    /** Lets go of entries `channel` held that left the outbox another way (they name no alert). */
    async release(channel: string, entryIds: string[]): Promise<void> {
      if (entryIds.length > 0) await redis.zrem(k.held(channel), ...entryIds);
    },

    /** The entries `channel` holds, and why. */
    async held(channel: string): Promise<ChannelHold> {
      const [entries, reason, oldest] = await Promise.all([redis.zcard(k.held(channel)), redis.hget(k.holdReasons, channel), redis.zrange(k.held(channel), 0, 0, 'WITHSCORES')]);
      return { channel, reason: reason === 'unavailable' ? 'unavailable' : 'auth', entries, oldestAt: oldest[1] === undefined ? null : Number(oldest[1]) };
    },

    /** Adds the alert to its case and makes the case due for Alertmanager at `now` (see lua/track-case-3.lua). */
    async trackCase(caseId: string, key: { rule: string; scope: string; subject: string }, alertId: string, now: number): Promise<void> {
      await scripts.trackCase({
        keys: { caseAlerts: k.caseAlerts(caseId), amCase: k.amCase(caseId), amSchedule: k.amSchedule },
        args: { alertId, caseId, dueAt: now, rule: key.rule, scope: key.scope, subject: key.subject },
      });
    },

    /**
     * The case's alerts and whether the case is open: open while any of its alerts is neither resolved
     * nor a false positive. Swap for the cases store once cases have their own status.
     */
    async caseState<A extends { status: string }>(caseId: string): Promise<CaseState<A>> {
      const ids = await redis.smembers(k.caseAlerts(caseId));
      const raw = await Promise.all(ids.map((id) => redis.get(k.record(id))));
      const alerts = raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as A);
      return { open: alerts.some((a) => !CLOSED.has(a.status)), alerts };
    },

    async getCase(caseId: string): Promise<TrackedCase | null> {
      const h = await redis.hgetall(k.amCase(caseId));
      if (!h.rule) return null;
      return {
        rule: h.rule, scope: h.scope ?? '', subject: h.subject ?? '',
        lastLabels: h.lastLabels ? (JSON.parse(h.lastLabels) as Record<string, string>) : null,
        failures: Number(h.failures ?? 0),
        rejected: h.rejected === '1',
      };
    },

    /** Records how the last send of a case went. */
    async recordSend(caseId: string, result: { accepted: true; labels: Record<string, string> } | { accepted: false; rejected: boolean; failures: number }): Promise<void> {
      const fields = result.accepted
        ? { lastLabels: JSON.stringify(result.labels), failures: 0, rejected: '0' }
        : { failures: result.failures, rejected: result.rejected ? '1' : '0' };
      await redis.hset(k.amCase(caseId), fields);
    },

    /** Claims up to `limit` cases due for Alertmanager until `leaseUntil` (same claim as webhook deliveries: lua/claim-deliveries-1.lua). */
    claimDueCases(now: number, leaseUntil: number, limit: number): Promise<string[]> {
      return scripts.claimDeliveries({ keys: { schedule: k.amSchedule }, args: { now, leaseUntil, limit } });
    },

    /** Ends a claim: due again at `nextAt`, or off the schedule when null (see lua/release-case-1.lua). */
    async releaseCase(caseId: string, leaseUntil: number, nextAt: number | null): Promise<boolean> {
      return scripts.releaseCase({ keys: { amSchedule: k.amSchedule }, args: { caseId, leaseUntil, nextAt: nextAt ?? '' } });
    },

    /** When the case is next sent to Alertmanager (ms), or null when it is off the schedule. */
    async nextSend(caseId: string): Promise<number | null> {
      const score = await redis.zscore(k.amSchedule, caseId);
      return score === null ? null : Number(score);
    },

    async deadLetter(letter: ChannelDeadLetter): Promise<void> {
      await redis.multi().lpush(k.dead, JSON.stringify(letter)).ltrim(k.dead, 0, deadCap - 1).exec();
    },

    /** Dead letters of the Kafka and Alertmanager channels, newest first. */
    async listDeadLetters(limit = 100): Promise<ChannelDeadLetter[]> {
      return (await redis.lrange(k.dead, 0, limit - 1)).map((l) => JSON.parse(l) as ChannelDeadLetter);
    },

    /**
     * Hands the dead letters of `channel` (both when omitted) back to it, each exactly once (see
     * lua/redeliver-channel-3.lua): a Kafka letter as an outbox entry for that channel only, an
     * Alertmanager letter by making its case due now (and no longer marked rejected, so a new
     * rejection is dead-lettered again).
     */
    async redeliverDeadLetters(channel?: 'kafka' | 'alertmanager', now = Date.now()): Promise<Redelivered> {
      if (channel !== 'kafka') {
        const letters = (await redis.lrange(k.dead, 0, -1)).map((l) => JSON.parse(l) as ChannelDeadLetter);
        const cases = [...new Set(letters.filter((l) => l.channel === 'alertmanager' && l.caseId).map((l) => l.caseId!))];
        for (const id of cases) if (await redis.hexists(k.amCase(id), 'rule')) await redis.hset(k.amCase(id), 'rejected', '0');
      }
      return scripts.redeliverChannel({ keys: { dead: k.dead, outbox: k.outbox, amSchedule: k.amSchedule }, args: { channel: channel ?? '', now } });
    },
  };
}

export type NotifyChannels = ReturnType<typeof createNotifyChannels>;
