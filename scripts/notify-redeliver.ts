// `pnpm notify:redeliver [--channel kafka|alertmanager|webhooks[,…]]`
// Hands the notifier's dead letters back to their channels once the cause is fixed (see
// services/notifier/src/redeliver.ts); the running notifier delivers them. Reads REDIS_URL,
// REDIS_CLUSTER, REDIS_PREFIX and the Redis TLS/password settings like the notifier.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { connectRedis, createStore, redisEndpoints, verifyRedisConnection } from '@flopwatch/store';
import { createLogger, exitOnConfigError, loadConfig, redisSecurity, redisSecurityEnv } from '../packages/runtime/src/index.js';
import { notifierConfigSchema } from '../services/notifier/src/config.js';
import { REDELIVER_CHANNELS, redeliverDeadLetters, type RedeliverChannel } from '../services/notifier/src/redeliver.js';

const USAGE = `usage: pnpm notify:redeliver [--channel ${REDELIVER_CHANNELS.join('|')}[,…]]   (default: every channel)`;

function usageError(message: string): never {
  console.error(`notify:redeliver: ${message}\n${USAGE}`);
  process.exit(2);
}

let args: { channel?: string; help: boolean };
try {
  args = parseArgs({ options: { channel: { type: 'string' }, help: { type: 'boolean', default: false } } }).values;
} catch (err) {
  usageError((err as Error).message);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const channels = (args.channel ?? REDELIVER_CHANNELS.join(',')).split(',').map((c) => c.trim()).filter(Boolean);
const unknown = channels.filter((c) => !(REDELIVER_CHANNELS as readonly string[]).includes(c));
if (channels.length === 0 || unknown.length > 0) usageError(`unknown channel ${unknown.join(', ') || '(none)'}`);

const configSchema = notifierConfigSchema
  .pick({ REDIS_URL: true, REDIS_CLUSTER: true, REDIS_PREFIX: true })
  .extend({ ...redisSecurityEnv, LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn') });
const config = exitOnConfigError(() => loadConfig(configSchema, process.env));
const security = exitOnConfigError(() => redisSecurity(config));
const log = createLogger({ service: 'notify-redeliver', level: config.LOG_LEVEL });
const redis = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, name: 'flopwatch-notify-redeliver', security });
redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));

let exitCode = 0;
try {
  if (!(await verifyRedisConnection(redis, config.REDIS_URL))) throw new Error(`Redis (${redisEndpoints(config.REDIS_URL)}) does not answer`);
  const s = await redeliverDeadLetters(createStore({ redis, prefix: config.REDIS_PREFIX }), channels as RedeliverChannel[]);
  console.log(`notify:redeliver: redelivered ${s.kafka} Kafka, ${s.alertmanager} Alertmanager and ${s.webhooks} webhook dead letters (channels: ${channels.join(', ')})`);
  if (s.disabledEndpoints.length > 0) {
    console.log(`left: the dead letters of disabled endpoints ${s.disabledEndpoints.join(', ')}; enable them (POST /v1/webhooks/:id/enable) and run this again`);
  }
} catch (err) {
  const e = err as { code?: string; message?: string };
  console.error(`notify:redeliver failed: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
  exitCode = 1;
} finally {
  redis.disconnect();
}
process.exit(exitCode);
