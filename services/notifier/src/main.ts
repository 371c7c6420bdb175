// Composition root of the notifier: config → logger → clients → createNotifier → start; close on signal.
import { hostname } from 'node:os';
import { createKafkaClient, verifyKafkaConnection } from '@flopwatch/kafka';
import { kafkaSecurity, redisSecurity, createLogger, createMetricsRegistry, createShutdown, exitOnConfigError, installCrashHandlers, installSignalHandlers, loadConfig, redactConfig, reportStartupFailure, startOpsServer } from '@flopwatch/runtime';
import { connectRedis, createStore, verifyRedisConnection } from '@flopwatch/store';
import { createNotifier } from './app.js';
import { notifierConfigSchema } from './config.js';

const config = exitOnConfigError(() => loadConfig(notifierConfigSchema, process.env));
const security = exitOnConfigError(() => ({ kafka: kafkaSecurity(config), redis: redisSecurity(config) }));
const log = createLogger({ service: 'notifier', level: config.LOG_LEVEL });
const shutdown = createShutdown({ log, timeoutMs: 30_000 });
installSignalHandlers(shutdown, { log });
installCrashHandlers(shutdown, { log });

try {
  log.info({ config: redactConfig(config) }, 'starting');
  const redis = connectRedis({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER, name: 'flopwatch-notifier', security: security.redis });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis connection error'));
  shutdown.add('redis', () => redis.quit());
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, logger: log, security: security.kafka });
  shutdown.add('kafka', () => kafka.close());
  // Wrong credentials or TLS settings stop the service here, with one message naming the connection.
  if (!(await verifyRedisConnection(redis, config.REDIS_URL))) log.warn('redis not reachable yet; it will be retried');
  const kafkaCheck = await verifyKafkaConnection(kafka);
  if (!kafkaCheck.ok) log.warn({ reason: kafkaCheck.transient }, 'kafka not reachable yet; it will be retried');
  const metricsRegistry = createMetricsRegistry({ service: 'notifier' });
  const notifier = createNotifier({
    kafka,
    store: createStore({ redis, prefix: config.REDIS_PREFIX }),
    metricsRegistry,
    log,
    topic: { name: config.ALERTS_TOPIC, partitions: config.ALERTS_TOPIC_PARTITIONS },
    outbox: { group: config.OUTBOX_GROUP, consumer: config.OUTBOX_CONSUMER ?? `${hostname()}-${process.pid}`, claimIdleMs: config.OUTBOX_CLAIM_IDLE },
    pollIntervalMs: config.POLL_INTERVAL,
    webhooks: {
      policy: { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowList: config.WEBHOOK_ALLOW_LIST },
      retry: { scheduleMs: config.WEBHOOK_RETRY_SCHEDULE, jitter: config.WEBHOOK_RETRY_JITTER },
      timeoutMs: config.WEBHOOK_TIMEOUT,
      maxResponseBytes: config.WEBHOOK_MAX_RESPONSE_BYTES,
      concurrency: config.WEBHOOK_CONCURRENCY,
      disableAfterMs: config.WEBHOOK_DISABLE_AFTER,
    },
    alertmanager: config.ALERTMANAGER_URL
      ? { url: config.ALERTMANAGER_URL, resendIntervalMs: config.ALERTMANAGER_RESEND_INTERVAL, timeoutMs: config.ALERTMANAGER_TIMEOUT, publicApiUrl: config.PUBLIC_API_URL }
      : null,
  });
  const ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, registry: metricsRegistry, isReady: () => notifier.readiness(), log });
  shutdown.add('ops-server', () => ops.close());
  shutdown.add('notifier', () => notifier.close());
  await notifier.start();
  log.info({ topic: config.ALERTS_TOPIC, group: config.OUTBOX_GROUP, alertmanager: Boolean(config.ALERTMANAGER_URL) }, 'notifier ready');
} catch (err) {
  reportStartupFailure(log, 'notifier', err);
  await shutdown.run('start-up failed');
  process.exit(1);
}
