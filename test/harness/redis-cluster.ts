// A real three-node Redis Cluster from the machine's redis-server, created with
// `redis-cli --cluster create`, for tests that must hold on Cluster as on a single Redis.
import { spawnSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { startSecureRedisCluster } from './secure-servers.js';

export interface TestRedisCluster {
  /** Seed nodes, `127.0.0.1:port,…` */
  nodes: string;
  client(): Cluster;
  stop(): Promise<void>;
}

/** Starts three cluster-mode redis-servers on free loopback ports and joins them; needs redis-server and redis-cli. */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed: the Redis Cluster tests need it (apt-get install redis-server)');
  }
  const { nodes, stop } = await startSecureRedisCluster({});
  const ports = nodes.split(',').map((n) => Number(n.split(':')[1]));
  return {
    nodes,
    client: () => new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), { enableAutoPipelining: true }),
    stop,
  };
}
