// The start every service shares: config → security settings → logger → shutdown with signal and crash
// handlers (startService), then Redis and Kafka with those settings, checked before anything uses them
// and closed after everything that does (connectInfra). The clients come from drivers the caller passes
// (@flopwatch/store's redisDriver, @flopwatch/kafka's kafkaDriver): both packages depend on this one.
import type { Level } from 'pino';
import type { z } from 'zod';
import { exitOnConfigError, loadConfig, type Env } from './config.js';
import { kafkaSecurity, redisSecurity, type KafkaSecurity, type KafkaSecurityConfig, type RedisSecurity, type RedisSecurityConfig } from './connections.js';
import { createLogger, type Logger } from './logger.js';
import { redactUrls } from './redact.js';
import { createShutdown, installCrashHandlers, installSignalHandlers, type Shutdown } from './shutdown.js';
import { reportStartupFailure } from './startup.js';

/** The settings connectInfra reads; every service's schema has them. */
export type InfraConfig = KafkaSecurityConfig &
  RedisSecurityConfig & { KAFKA_BROKERS: string[]; KAFKA_CLIENT_ID: string; REDIS_URL: string; REDIS_CLUSTER: boolean; LOG_LEVEL: Level | 'silent' };

/** How connectInfra opens, checks and closes a Redis client (@flopwatch/store's redisDriver). */
export interface RedisDriver<R> {
  connect(options: { url: string; cluster: boolean; name: string; security: RedisSecurity }): R;
  /** Resolves false when the server is not reachable yet; throws a non-retryable error on wrong settings. */
  verify(client: R, url: string): Promise<boolean>;
  onError(client: R, listener: (err: Error) => void): void;
  close(client: R): Promise<unknown>;
}

/** How connectInfra creates, checks and closes a Kafka client (@flopwatch/kafka's kafkaDriver). */
export interface KafkaDriver<K> {
  create(options: { brokers: string[]; clientId: string; logger: Logger; security: KafkaSecurity }): K;
  /** `ok: false` with a reason when the brokers are not reachable yet; throws a non-retryable error on wrong settings. */
  verify(client: K): Promise<{ ok: boolean; transient?: string }>;
  close(client: K): Promise<unknown>;
}

/** What a process needs to exit; tests pass their own. */
export interface ServiceTarget {
  exit(code: number): void;
  stderr: Pick<NodeJS.WriteStream, 'write'>;
}

export interface StartServiceOptions<S extends z.ZodType<InfraConfig>> {
  /** The service's name: log lines, the Redis connection name (`flopwatch-<name>`), start-up failures. */
  name: string;
  schema: S;
  /** main.ts passes process.env. */
  env: Env;
  shutdownTimeoutMs?: number;
}

export interface Service<C extends InfraConfig> {
  name: string;
  config: C;
  security: { kafka: KafkaSecurity; redis: RedisSecurity };
  log: Logger;
  /** Steps close in reverse order: what the service adds after connectInfra closes before the clients. */
  shutdown: Shutdown;
  /**
   * Runs the service's start; when it throws, reports why (one line, no stack for a settings error),
   * closes what was opened and exits 1.
   */
  run(start: () => Promise<void>): Promise<void>;
}

/**
 * Loads the config and the connection security settings (a bad one prints every problem and exits 1),
 * creates the root logger and the shutdown, and installs the signal and crash handlers. For main.ts.
 */
export function startService<S extends z.ZodType<InfraConfig>>(options: StartServiceOptions<S>, target: ServiceTarget = process): Service<z.output<S>> {
  const config = exitOnConfigError(() => loadConfig(options.schema, options.env), target);
  const security = exitOnConfigError(() => ({ kafka: kafkaSecurity(config), redis: redisSecurity(config) }), target);
  const log = createLogger({ service: options.name, level: config.LOG_LEVEL });
  const shutdown = createShutdown({ log, timeoutMs: options.shutdownTimeoutMs ?? 30_000 });
  installSignalHandlers(shutdown, { log });
  // A crash runs the same shutdown: the consumer leaves its group, the collector sends its open period.
  installCrashHandlers(shutdown, { log });
  return {
    name: options.name,
    config,
    security,
    log,
    shutdown,
    async run(start) {
      try {
        await start();
      } catch (err) {
        reportStartupFailure(log, options.name, err, target.stderr);
        await shutdown.run('start-up failed');
        target.exit(1);
      }
    },
  };
}

/**
 * Opens Redis and Kafka with the service's security settings, registers their close steps (Redis first,
 * so it closes last), and checks both: wrong credentials or TLS settings throw, with one message naming
 * the connection; a server not reachable yet is logged and retried by the clients.
 */
export async function connectInfra<R, K>(service: Service<InfraConfig>, drivers: { redis: RedisDriver<R>; kafka: KafkaDriver<K> }): Promise<{ redis: R; kafka: K }> {
  const { config, log, shutdown, security } = service;
  const redis = drivers.redis.connect({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, name: `flopwatch-${service.name}`, security: security.redis });
  drivers.redis.onError(redis, (err) => log.warn({ err: redactUrls(err.message) }, 'redis connection error'));
  shutdown.add('redis', () => drivers.redis.close(redis));
  const kafka = drivers.kafka.create({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger: log, security: security.kafka });
  shutdown.add('kafka', () => drivers.kafka.close(kafka));
  if (!(await drivers.redis.verify(redis, config.REDIS_URL))) log.warn('redis not reachable yet; it will be retried');
  const kafkaCheck = await drivers.kafka.verify(kafka);
  if (!kafkaCheck.ok) log.warn({ reason: kafkaCheck.transient }, 'kafka not reachable yet; it will be retried');
  return { redis, kafka };
}
