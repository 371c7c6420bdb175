import { Cluster, Redis, type ClusterNode } from 'ioredis';

/** A single Redis or a Redis Cluster: the store runs unchanged on both. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** `redis://host:port` for a single server, or several `host:port` (comma-separated) for a cluster. */
  url: string;
  /** Treat `url` as cluster seed nodes. */
  cluster?: boolean;
  /** Connection name shown by CLIENT LIST. */
  name?: string;
}

/**
 * Opens a client with auto-pipelining: commands issued in the same tick travel in one round trip
 * (per node on a cluster), so callers can issue independent commands with Promise.all.
 */
export function connectRedis(options: RedisConnectOptions): RedisClient {
  const common = { enableAutoPipelining: true, connectionName: options.name ?? 'flopwatch' };
  if (options.cluster) {
    const nodes: ClusterNode[] = options.url.split(',').map((s) => {
      const u = new URL(s.includes('://') ? s : `redis://${s}`);
      return { host: u.hostname, port: Number(u.port || 6379) };
    });
    return new Cluster(nodes, { redisOptions: common, enableAutoPipelining: true });
  }
  return new Redis(options.url, { ...common, maxRetriesPerRequest: 2 });
}
