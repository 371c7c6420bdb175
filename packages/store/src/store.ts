import { createAccounting } from './accounting.js';
import { createAlertStore } from './alerts.js';
import { createKeys } from './keys.js';
import { createRegistry } from './registry.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

export interface StoreOptions {
  redis: RedisClient;
  /** Key prefix; isolates deployments and tests sharing one Redis. */
  prefix?: string;
  /** See AccountingOptions.activeWindowMs. Default: 15 minutes. */
  activeWindowMs?: number;
}

/** The Redis-backed store: keys, scripts and facades over one client (the caller owns the client). */
export function createStore({ redis, prefix = 'fw:', activeWindowMs = 15 * 60_000 }: StoreOptions) {
  const client = defineScripts(redis);
  const keys = createKeys(prefix);
  return {
    redis: client,
    keys,
    accounting: createAccounting({ redis: client, keys, activeWindowMs }),
    alerts: createAlertStore({ redis: client, keys }),
    registry: createRegistry({ redis: client, keys }),
  };
}

export type Store = ReturnType<typeof createStore>;
