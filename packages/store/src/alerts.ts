import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { ScriptCommands } from './scripts.js';

/** The least an alert record needs for storage; the full shape is the contracts' alert schema. */
export interface StoredAlert {
  id: string;
  raisedAt: string;
}

export interface AlertStoreOptions {
  redis: RedisClient & ScriptCommands;
  keys: Keys;
}

export function createAlertStore({ redis, keys }: AlertStoreOptions) {
  return {
    /** Creates the alert and its outbox entry once; true when this call created it. */
    async raise<A extends StoredAlert>(alert: A): Promise<boolean> {
      const created = await redis.raiseAlert(
        keys.alerts.record(alert.id), keys.alerts.outbox, keys.alerts.index,
        alert.id, JSON.stringify(alert), Date.parse(alert.raisedAt),
      );
      return created === 1;
    },

    /** Which of these alert ids already exist. */
    async existing(ids: string[]): Promise<Set<string>> {
      const flags = await Promise.all(ids.map((id) => redis.exists(keys.alerts.record(id))));
      return new Set(ids.filter((_, i) => flags[i] === 1));
    },

    /** Alerts raised since `sinceMs` (by raisedAt), oldest first. */
    async since<A extends StoredAlert>(sinceMs = 0): Promise<A[]> {
      const ids = await redis.zrangebyscore(keys.alerts.index, sinceMs, '+inf');
      const out: A[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        for (const raw of await redis.mget(...ids.slice(i, i + 500).map((id) => keys.alerts.record(id)))) if (raw !== null) out.push(JSON.parse(raw) as A);
      }
      return out;
    },

    /** The most recently raised alerts, newest first, at most `max` (one MGET per 500: they share the {alerts} tag). */
    async recent<A extends StoredAlert>(max: number): Promise<A[]> {
      const ids = await redis.zrevrange(keys.alerts.index, 0, max - 1);
      const out: A[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        for (const raw of await redis.mget(...ids.slice(i, i + 500).map((id) => keys.alerts.record(id)))) if (raw !== null) out.push(JSON.parse(raw) as A);
      }
      return out;
    },

    async get<A extends StoredAlert>(id: string): Promise<A | null> {
      const raw = await redis.get(keys.alerts.record(id));
      return raw === null ? null : (JSON.parse(raw) as A);
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;
