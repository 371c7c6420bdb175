import { Cluster } from 'ioredis';
import type { RedisClient } from './redis.js';

/**
 * Deletes every key under `prefix` (SCAN + UNLINK, never KEYS), on every primary of a cluster;
 * returns how many were deleted. For scripts and operators removing a run's or a deployment's data.
 */
export async function purgePrefix(redis: RedisClient, prefix: string): Promise<number> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
      cursor = next;
      // One UNLINK per key: on a cluster, keys of one SCAN page live in different slots.
      if (keys.length > 0) deleted += (await Promise.all(keys.map((k) => redis.unlink(k)))).reduce((a, b) => a + b, 0);
    } while (cursor !== '0');
  }
  return deleted;
}
