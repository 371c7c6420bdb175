// Webhook endpoints and deliveries in Redis, under the {webhooks} hash tag. A delivery is one message
// to one endpoint; its retry state (the schedule ZSET) lives here, so a restarted notifier resumes
// every pending retry, and several notifiers share the work through an atomic claim.
import { createHash } from 'node:crypto';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** Which alerts an endpoint receives; empty lists match everything. */
export interface WebhookFilter {
  /** Lowest severity delivered (info < low < medium < high < critical); null for all. */
  minSeverity: string | null;
  rules: string[];
  tenants: string[];
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  filter: WebhookFilter;
  createdAt: string;
  /** Set when the endpoint was disabled (by failing too long, or by an operator), with why. */
  disabled: { at: string; reason: string } | null;
}

/** A signing secret; a rotated-out secret signs until expiresAt (ms). */
export interface StoredSecret {
  secret: string;
  createdAt: number;
  expiresAt: number | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

/** Why a delivery is a dead letter. */
export const DEAD_LETTER_REASONS = ['retries_exhausted', 'url_policy', 'http_rejected', 'endpoint_disabled'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface DeliveryAttempt {
  at: string;
  /** HTTP status; null when no response arrived. */
  status: number | null;
  durationMs: number;
  outcome: 'delivered' | 'retry' | 'dead';
  error: string | null;
  /** Start of the response body. */
  response: string;
}

export interface Delivery {
  id: string;
  endpointId: string;
  /** The `webhook-id`: the same for every attempt. */
  messageId: string;
  eventType: string;
  /** The alert it carries; empty for test messages. */
  alertId: string;
  body: string;
  status: DeliveryStatus;
  /** Attempts made in total, and where the current retry round began (a redelivery starts a new round). */
  attempts: number;
  roundStart: number;
  createdAt: number;
  nextAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  deadAt: number | null;
  /** Set while the delivery is a dead letter. */
  deadReason: DeadLetterReason | null;
}

export interface NewDelivery {
  endpointId: string;
  messageId: string;
  eventType: string;
  alertId?: string;
  body: string;
  /** First attempt due at (ms); default now. */
  dueAt?: number;
  /** File it as a dead letter at once, for this reason (its endpoint is disabled), instead of scheduling it. */
  deadReason?: DeadLetterReason;
}

export interface SettleInput {
  delivery: Pick<Delivery, 'id' | 'endpointId' | 'attempts'>;
  outcome: 'delivered' | 'retry' | 'dead';
  now: number;
  /** For 'retry'. */
  nextAt?: number;
  attempt: DeliveryAttempt;
  /** False when no request was made (endpoint disabled): the endpoint's health is left as it is. */
  reachedEndpoint: boolean;
  /** For 'dead'; default retries_exhausted. */
  deadReason?: DeadLetterReason;
}

export interface WebhookStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** Deliveries kept in an endpoint's history. Default 1000. */
  historyCap?: number;
  /** Attempts kept per delivery. Default 50. */
  attemptsCap?: number;
  /** How long a delivered delivery is kept (ms). Default 30 days. */
  deliveredRetentionMs?: number;
}

/** The delivery id of a message to an endpoint: deterministic, so fan-out is idempotent. */
export function deliveryId(endpointId: string, messageId: string): string {
  return `dlv_${createHash('sha256').update(JSON.stringify([endpointId, messageId])).digest('hex').slice(0, 24)}`;
}

const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

function toDelivery(h: Record<string, string>, id: string): Delivery | null {
  if (!h.status) return null;
  return {
    id,
    endpointId: h.endpointId ?? '',
    messageId: h.messageId ?? '',
    eventType: h.eventType ?? '',
    alertId: h.alertId ?? '',
    body: h.body ?? '',
    status: h.status as DeliveryStatus,
    attempts: Number(h.attempts ?? 0),
    roundStart: Number(h.roundStart ?? 0),
    createdAt: Number(h.createdAt ?? 0),
    nextAt: num(h.nextAt),
    lastAttemptAt: num(h.lastAttemptAt),
    lastStatus: num(h.lastStatus),
    lastError: h.lastError ? h.lastError : null,
    deliveredAt: num(h.deliveredAt),
    deadAt: num(h.deadAt),
    deadReason: h.status === 'dead' ? ((h.deadReason || 'retries_exhausted') as DeadLetterReason) : null,
  };
}

export function createWebhookStore(options: WebhookStoreOptions) {
  const { keys } = options;
  const k = keys.webhooks;
  const { redis } = options;
  const scripts = defineScripts(redis);
  const historyCap = options.historyCap ?? 1000;
  const attemptsCap = options.attemptsCap ?? 50;
  const retentionMs = options.deliveredRetentionMs ?? 30 * 86_400_000;

  async function getDelivery(id: string): Promise<Delivery | null> {
    return toDelivery(await redis.hgetall(k.delivery(id)), id);
  }

  async function deliveriesById(ids: string[]): Promise<Delivery[]> {
    const all = await Promise.all(ids.map(getDelivery));
    return all.filter((d): d is Delivery => d !== null);
  }

  async function readSecrets(id: string): Promise<StoredSecret[]> {
    const raw = await redis.get(k.secrets(id));
    return raw === null ? [] : (JSON.parse(raw) as StoredSecret[]);
  }

  async function putEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    await redis.set(k.endpoint(endpoint.id), JSON.stringify(endpoint), 'XX');
  }

  const self = {
    /** Registers an endpoint with its first secret (the caller generates both and shows the secret once). */
    async createEndpoint(endpoint: WebhookEndpoint, secret: string): Promise<void> {
      const secrets: StoredSecret[] = [{ secret, createdAt: Date.parse(endpoint.createdAt), expiresAt: null }];
      await redis
        .multi()
        .set(k.endpoint(endpoint.id), JSON.stringify(endpoint))
        .set(k.secrets(endpoint.id), JSON.stringify(secrets))
        .zadd(k.endpoints, Date.parse(endpoint.createdAt), endpoint.id)
        .exec();
    },

    async getEndpoint(id: string): Promise<WebhookEndpoint | null> {
      const raw = await redis.get(k.endpoint(id));
      return raw === null ? null : (JSON.parse(raw) as WebhookEndpoint);
    },

    /** Every endpoint, oldest first. */
    async listEndpoints(): Promise<WebhookEndpoint[]> {
      const ids = await redis.zrange(k.endpoints, 0, -1);
      const all = await Promise.all(ids.map((id) => self.getEndpoint(id)));
      return all.filter((e): e is WebhookEndpoint => e !== null);
    },

    /** Removes the endpoint, its secrets and its dead letters; true when it existed. Pending deliveries are dropped when claimed. */
    async deleteEndpoint(id: string): Promise<boolean> {
      const dead = await self.listDeadLetters({ endpointId: id, limit: 10_000 });
      const results = await redis
        .multi()
        .del(k.endpoint(id), k.secrets(id), k.history(id))
        .zrem(k.endpoints, id)
        .hdel(k.failing, id)
        .exec();
      await Promise.all(dead.map((d) => self.discard(d.id)));
      return Number(results?.[0]?.[1] ?? 0) > 0;
    },

    /** Secrets that sign at `now`: the current one and rotated ones still in their grace period. */
    async signingSecrets(id: string, now = Date.now()): Promise<string[]> {
      return (await readSecrets(id)).filter((s) => s.expiresAt === null || s.expiresAt > now).map((s) => s.secret);
    },

    /** Makes `secret` the current one; the previous ones keep signing for `graceMs`. False when there is no such endpoint. */
    async rotateSecret(id: string, secret: string, graceMs: number, now = Date.now()): Promise<boolean> {
      if ((await redis.exists(k.endpoint(id))) === 0) return false;
      const kept = (await readSecrets(id))
        .filter((s) => s.expiresAt === null || s.expiresAt > now)
        .map((s) => ({ ...s, expiresAt: Math.min(s.expiresAt ?? Infinity, now + graceMs) }));
      await redis.set(k.secrets(id), JSON.stringify([{ secret, createdAt: now, expiresAt: null }, ...kept]));
      return true;
    },

    /** Disables the endpoint, saying why; its pending deliveries are dead-lettered when claimed. */
    async disableEndpoint(id: string, reason: string, now = new Date()): Promise<WebhookEndpoint | null> {
      const endpoint = await self.getEndpoint(id);
      if (!endpoint) return null;
      const updated = { ...endpoint, disabled: { at: now.toISOString(), reason } };
      await putEndpoint(updated);
      return updated;
    },

    /** Enables a disabled endpoint and forgets its failures. */
    async enableEndpoint(id: string): Promise<WebhookEndpoint | null> {
      const endpoint = await self.getEndpoint(id);
      if (!endpoint) return null;
      const updated = { ...endpoint, disabled: null };
      await putEndpoint(updated);
      await redis.hdel(k.failing, id);
      return updated;
    },

    /** Since when the endpoint has failed without a success (ms), or null. */
    async failingSince(id: string): Promise<number | null> {
      return num((await redis.hget(k.failing, id)) ?? undefined);
    },

    /** Creates the delivery once and schedules its first attempt (or files it as a dead letter); returns its id and whether this call created it. */
    async enqueue(d: NewDelivery, now = Date.now()): Promise<{ id: string; created: boolean }> {
      const id = deliveryId(d.endpointId, d.messageId);
      const created = await scripts.enqueueDelivery({
        keys: { delivery: k.delivery(id), schedule: k.schedule, history: k.history(d.endpointId), dead: k.dead },
        args: {
          deliveryId: id, dueAt: d.dueAt ?? now, createdAt: now, historyCap, deadReason: d.deadReason ?? '',
          fields: ['endpointId', d.endpointId, 'messageId', d.messageId, 'eventType', d.eventType, 'alertId', d.alertId ?? '', 'body', d.body],
        },
      });
      return { id, created };
    },

    /** Claims up to `limit` due deliveries until `leaseUntil` (ms); see lua/claim-deliveries-1.lua. */
    claimDue(now: number, leaseUntil: number, limit: number): Promise<string[]> {
      return scripts.claimDeliveries({ keys: { schedule: k.schedule }, args: { now, leaseUntil, limit } });
    },

    getDelivery,

    async getAttempts(id: string): Promise<DeliveryAttempt[]> {
      return (await redis.lrange(k.attempts(id), 0, -1)).map((a) => JSON.parse(a) as DeliveryAttempt);
    },

    /** Records an attempt's outcome; `applied` is false when this claim was stale. */
    async settle(input: SettleInput): Promise<{ applied: boolean; failingSince: number | null }> {
      const { delivery, attempt } = input;
      return scripts.settleDelivery({
        keys: { delivery: k.delivery(delivery.id), attempts: k.attempts(delivery.id), schedule: k.schedule, dead: k.dead, failing: k.failing },
        args: {
          deliveryId: delivery.id, attempts: delivery.attempts, outcome: input.outcome, now: input.now, nextAt: input.nextAt ?? '',
          attempt: JSON.stringify(attempt), attemptsCap, retentionMs, endpointId: delivery.endpointId,
          reachedEndpoint: input.reachedEndpoint ? '1' : '0', lastStatus: attempt.status ?? '', lastError: attempt.error ?? '',
          deadReason: input.outcome === 'dead' ? (input.deadReason ?? 'retries_exhausted') : '',
        },
      });
    },

    /** Schedules a dead-lettered or delivered delivery again (same message id, fresh retry schedule). */
    async redeliver(id: string, now = Date.now()): Promise<'scheduled' | 'pending' | 'not_found'> {
      const r = await scripts.redeliverDelivery({
        keys: { delivery: k.delivery(id), attempts: k.attempts(id), schedule: k.schedule, dead: k.dead },
        args: { deliveryId: id, now },
      });
      return r === 'done' ? 'scheduled' : r === 'noop' ? 'pending' : 'not_found';
    },

    /** Schedules every dead letter of one endpoint again (after it is enabled); returns how many. */
    async redeliverDeadLetters(endpointId: string, now = Date.now()): Promise<string[]> {
      const dead = await self.listDeadLetters({ endpointId, limit: 100_000 });
      const outcomes = await Promise.all(dead.map((d) => self.redeliver(d.id, now)));
      return dead.filter((_, i) => outcomes[i] === 'scheduled').map((d) => d.id);
    },

    /** Takes a delivery out of the schedule (it is no longer pending). */
    async unschedule(id: string): Promise<void> {
      await redis.zrem(k.schedule, id);
    },

    /** Forgets a delivery entirely (its endpoint is gone). */
    async discard(id: string): Promise<void> {
      await redis.multi().del(k.delivery(id), k.attempts(id)).zrem(k.schedule, id).zrem(k.dead, id).exec();
    },

    /** An endpoint's recent deliveries, newest first. */
    async listDeliveries(endpointId: string, limit = 50): Promise<Delivery[]> {
      return deliveriesById(await redis.zrevrange(k.history(endpointId), 0, limit - 1));
    },

    /** Dead letters, newest first; of one endpoint when `endpointId` is given. */
    async listDeadLetters(opts: { endpointId?: string; limit?: number } = {}): Promise<Delivery[]> {
      const limit = opts.limit ?? 100;
      if (!opts.endpointId) return deliveriesById(await redis.zrevrange(k.dead, 0, limit - 1));
      const all = await deliveriesById(await redis.zrevrange(k.dead, 0, -1));
      return all.filter((d) => d.endpointId === opts.endpointId).slice(0, limit);
    },

    /** Deliveries waiting for an attempt (including those being attempted now). */
    pendingCount(): Promise<number> {
      return redis.zcard(k.schedule);
    },

    deadLetterCount(): Promise<number> {
      return redis.zcard(k.dead);
    },
  };
  return self;
}

export type WebhookStore = ReturnType<typeof createWebhookStore>;
