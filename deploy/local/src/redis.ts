import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { InfraError } from './errors.js';
import { commandWorks, livePid, sleep, stopPid } from './process.js';
import { stateDir } from './paths.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisOptions {
  url?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

const redisPaths = (env: NodeJS.ProcessEnv = process.env) => {
  const dir = join(stateDir(env), 'redis');
  return { dir, pidFile: join(dir, 'redis.pid'), logFile: join(dir, 'redis.log') };
};

/** True when the Redis at `url` answers PING. */
export async function redisAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export interface RedisStatus {
  url: string;
  answering: boolean;
  pid?: number;
}

export async function redisStatus(options: RedisOptions = {}): Promise<RedisStatus> {
  const url = options.url ?? DEFAULT_REDIS_URL;
  const pid = livePid(redisPaths(options.env).pidFile, 'redis-server');
  return { url, answering: await redisAnswers(url), ...(pid ? { pid } : {}) };
}

/**
 * Uses the Redis at `url` when it answers; otherwise, for a loopback URL, starts the machine's
 * redis-server on that port with a data directory and append-only persistence.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisStatus> {
  const url = options.url ?? DEFAULT_REDIS_URL;
  const log = options.log ?? (() => {});
  if (await redisAnswers(url)) {
    log(`Redis answers at ${url}; reusing it`);
    return redisStatus(options);
  }
  const parsed = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    throw new InfraError(`Redis at ${url} does not answer, and it is not on this machine, so it cannot be started here. Check REDIS_URL.`);
  }
  if (!commandWorks('redis-server', ['--version'])) {
    throw new InfraError(
      `no Redis answers at ${url} and redis-server is not installed. Install it (e.g. \`apt-get install redis-server\`), ` +
        'point REDIS_URL at a running Redis, or run `docker compose up -d redis`.',
    );
  }
  const port = parsed.port || '6379';
  const p = redisPaths(options.env);
  mkdirSync(p.dir, { recursive: true });
  const r = spawnSync(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', p.dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--daemonize', 'yes', '--pidfile', p.pidFile, '--logfile', p.logFile],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new InfraError(`redis-server would not start (exit ${r.status}): ${r.stderr || r.stdout}; see ${p.logFile}`);
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url)) {
      log(`started redis-server on port ${port} (append-only, data in ${p.dir}; log: ${p.logFile})`);
      return redisStatus(options);
    }
    await sleep(100);
  }
  throw new InfraError(`redis-server was started but does not answer at ${url}; see ${p.logFile}`);
}

/** Stops the redis-server this launcher started; leaves any other Redis alone. */
export async function stopRedis(options: RedisOptions = {}): Promise<boolean> {
  const p = redisPaths(options.env);
  const pid = livePid(p.pidFile, 'redis-server');
  if (!pid) return false;
  options.log?.(`stopping redis-server (pid ${pid}) …`);
  await stopPid(pid, p.pidFile, 10_000);
  return true;
}
