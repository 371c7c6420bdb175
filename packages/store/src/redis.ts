import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { AppError, type RedisDriver, type RedisSecurity } from '@flopwatch/runtime';

/** A single Redis or a Redis Cluster: the store runs unchanged on both. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /** `redis://host:port` (or `rediss://` for TLS) for a single server, or several `host:port` (comma-separated) for a cluster. */
  url: string;
  /** Treat `url` as cluster seed nodes. */
  cluster?: boolean;
  /** Connection name shown by CLIENT LIST. */
  name?: string;
  /** Credentials and TLS (`redisSecurity(config)` of @flopwatch/runtime); they apply to every cluster node too. */
  security?: RedisSecurity;
}

export const REDIS_CONNECTION_ERROR_CODES = ['REDIS_AUTH', 'REDIS_TLS'] as const;
export type RedisConnectionErrorCode = (typeof REDIS_CONNECTION_ERROR_CODES)[number];

/** Redis refused the credentials or the TLS handshake failed: a setting is wrong, retrying won't help. */
export class RedisConnectionError extends AppError<RedisConnectionErrorCode> {}

interface Seed {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
}

function parseSeed(s: string): Seed {
  const u = new URL(s.includes('://') ? s : `redis://${s}`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(/^\/\d+$/.test(u.pathname) ? { db: Number(u.pathname.slice(1)) } : {}),
    tls: u.protocol === 'rediss:',
  };
}

function tlsOptions(security: RedisSecurity | undefined, fromUrl: boolean): ConnectionOptions | undefined {
  if (!security?.tls && !fromUrl) return undefined;
  const t = security?.tls ?? {};
  return { ...(t.ca ? { ca: [t.ca] } : {}), ...(t.cert ? { cert: t.cert } : {}), ...(t.key ? { key: t.key } : {}) };
}

/** The host:port list of `url`, without credentials: safe for logs and error messages. */
export function redisEndpoints(url: string): string {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const seed = parseSeed(s);
      return `${seed.tls ? 'rediss://' : ''}${seed.host}:${seed.port}`;
    })
    .join(',');
}

/**
 * Opens a client with auto-pipelining: commands issued in the same tick travel in one round trip
 * (per node on a cluster), so callers can issue independent commands with Promise.all. Credentials and
 * TLS come from `security` or from the URL (`rediss://user:pw@host`); on a cluster they are applied to
 * every node the client discovers, not only the seeds.
 */
export function connectRedis(options: RedisConnectOptions): RedisClient {
  const seeds = options.url.split(',').map((s) => s.trim()).filter(Boolean).map(parseSeed);
  const first = seeds[0];
  const username = options.security?.username ?? first?.username;
  const password = options.security?.password ?? first?.password;
  const tls = tlsOptions(options.security, seeds.some((s) => s.tls));
  const common: RedisOptions = {
    enableAutoPipelining: true,
    connectionName: options.name ?? 'flopwatch',
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls } : {}),
  };
  if (options.cluster) {
    const nodes: ClusterNode[] = seeds.map((s) => ({ host: s.host, port: s.port }));
    return new Cluster(nodes, { redisOptions: common, enableAutoPipelining: true });
  }
  if (!first) throw new RedisConnectionError('REDIS_AUTH', 'REDIS_URL names no server');
  return new Redis({ ...common, host: first.host, port: first.port, ...(first.db !== undefined ? { db: first.db } : {}), maxRetriesPerRequest: 2 });
}

const AUTH_ERROR = /WRONGPASS|NOAUTH|invalid password|invalid username-password|NOPERM|AUTH .*failed/i;

function tlsCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ISSUER/.test(code) ? code : undefined;
}

/**
 * Waits until `redis` is ready, or fails at once when the server refuses the credentials or the TLS
 * handshake: a RedisConnectionError (not retryable) naming the endpoints and the settings to check, never
 * the password. An unreachable server is not an error here: after `timeoutMs` it resolves `false` and the
 * client keeps reconnecting, as the services always did. For main.ts, before anything else uses Redis.
 */
export function verifyRedisConnection(redis: RedisClient, url: string, timeoutMs = 5_000): Promise<boolean> {
  const name = `Redis (${redisEndpoints(url)})`;
  return new Promise<boolean>((resolve, reject) => {
    if (redis.status === 'ready') return resolve(true);
    let probing = false;
    const done = (fn: () => void) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('node error', onNodeError);
      fn();
    };
    const onError = (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      const code = tlsCode(err) ?? tlsCode((err as { cause?: unknown }).cause);
      if (code) {
        done(() => reject(new RedisConnectionError('REDIS_TLS', `${name}: TLS handshake failed (${code}: ${message}); check REDIS_TLS, REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE`, { retryable: false })));
      } else if (AUTH_ERROR.test(message)) {
        done(() => reject(new RedisConnectionError('REDIS_AUTH', `${name}: authentication failed (${message.replace(/^Ready check failed: /, '')}); check REDIS_USERNAME and REDIS_PASSWORD`, { retryable: false })));
      }
    };
    const onNodeError = (err: unknown) => onError(err);
    // A server with no password set answers commands; one that wants a password answers NOAUTH, which
    // ioredis reports only on the command: probe once when ready is slow to come.
    const onReady = () => {
      if (probing) return;
      probing = true;
      void redis
        .ping()
        .then(() => done(() => resolve(true)))
        .catch((err: unknown) => {
          probing = false;
          onError(err);
        });
    };
    const timer = setTimeout(() => done(() => resolve(false)), timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('node error', onNodeError);
  });
}

/** How a service's connectInfra() (@flopwatch/runtime) opens, checks and closes its Redis client. */
export const redisDriver: RedisDriver<RedisClient> = {
  connect: connectRedis,
  verify: verifyRedisConnection,
  onError: (client, listener) => void client.on('error', listener),
  // QUIT fails on a connection the server never let in (wrong password): then just drop it.
  close: (client) => client.quit().catch(() => client.disconnect()),
};
