// Composition root of the notifier: config → logger → clients → createNotifier → start; close on signal.
import { hostname } from 'node:os';
import { kafkaDriver } from '@flopwatch/kafka';
import { connectInfra, createMetricsRegistry, exitOnConfigError, httpAuthorization, redactConfig, startOpsServer, startService } from '@flopwatch/runtime';
import { createStore, redisDriver } from '@flopwatch/store';
import { createNotifier } from './app.js';
import { notifierConfigSchema } from './config.js';

const service = startService({ name: 'notifier', schema: notifierConfigSchema, env: process.env });
const { config, log, shutdown } = service;
const alertmanagerAuthorization = exitOnConfigError(() =>
  httpAuthorization('ALERTMANAGER', {
    username: config.ALERTMANAGER_USERNAME,
    password: config.ALERTMANAGER_PASSWORD,
    passwordFile: config.ALERTMANAGER_PASSWORD_FILE,
    bearerToken: config.ALERTMANAGER_BEARER_TOKEN,
    bearerTokenFile: config.ALERTMANAGER_BEARER_TOKEN_FILE,
  }),
);

await service.run(async () => {
  log.info({ config: redactConfig(config) }, 'starting');
  const { redis, kafka } = await connectInfra(service, { redis: redisDriver, kafka: kafkaDriver });
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
      ? { url: config.ALERTMANAGER_URL, resendIntervalMs: config.ALERTMANAGER_RESEND_INTERVAL, timeoutMs: config.ALERTMANAGER_TIMEOUT, publicApiUrl: config.PUBLIC_API_URL, authorization: alertmanagerAuthorization }
      : null,
  });
  const ops = await startOpsServer({ host: config.OPS_HOST, port: config.OPS_PORT, registry: metricsRegistry, isReady: () => notifier.readiness(), log });
  shutdown.add('ops-server', () => ops.close());
  shutdown.add('notifier', () => notifier.close());
  await notifier.start();
  log.info({ topic: config.ALERTS_TOPIC, group: config.OUTBOX_GROUP, alertmanager: Boolean(config.ALERTMANAGER_URL) }, 'notifier ready');
});
