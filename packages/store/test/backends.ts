import { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, redisUrl, startRedisCluster } from '@flopwatch/test-harness';
import type { RedisClient } from '../src/index.js';

export interface Backend {
  redis: RedisClient;
  /** A key prefix no other test uses. */
  prefix(): string;
  stop(): Promise<void>;
}

/** Every accounting test runs on both: the scripts must give the same exact totals on each. */
export const backends: { name: string; start: () => Promise<Backend> }[] = [
  {
    name: 'a single Redis',
    start: async () => {
      const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
      // Every test's prefix sits under one root, so cleaning up is one SCAN, not one per test.
      const root = freshPrefix('store');
      let n = 0;
      return {
        redis,
        prefix: () => `${root}${n++}:`,
        stop: async () => {
          await dropPrefix(redis, root);
          redis.disconnect();
        },
      };
    },
  },
  {
    name: 'a three-node Redis Cluster',
    start: async () => {
      const cluster = await startRedisCluster();
      const redis = cluster.client();
      return {
        redis,
        prefix: () => freshPrefix('store'),
        stop: async () => {
          redis.disconnect();
          await cluster.stop();
        },
      };
    },
  },
];
