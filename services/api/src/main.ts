// Composition root of the API: config → logger → clients → buildApp → listen; close on signal.
import { readFileSync } from 'node:fs';
import { consumerLag, createProducer, ensureTopics, kafkaDriver } from '@flopwatch/kafka';
import { loadPolicyPack } from '@flopwatch/policy';
import { connectInfra, createMetricsRegistry, redactConfig, startService } from '@flopwatch/runtime';
import { createStore, redisDriver } from '@flopwatch/store';
import { buildApp } from './app.js';
import { parseApiKeys } from './auth.js';
import { apiConfigSchema } from './config.js';

const service = startService({ name: 'api', schema: apiConfigSchema, env: process.env });
const { config, log, shutdown } = service;

await service.run(async () => {
  const pack = loadPolicyPack(config.POLICY_FILE);
  const apiKeys = parseApiKeys([config.API_KEYS, config.API_KEYS_FILE ? readFileSync(config.API_KEYS_FILE, 'utf8') : ''].join('\n'));
  if (apiKeys.length === 0) log.warn('no API keys configured (API_KEYS / API_KEYS_FILE): every /v1 route will answer 401');
  const unbound = apiKeys.filter((k) => k.role === 'ingest' && !k.scope).map((k) => k.name);
  if (unbound.length > 0) log.warn({ keys: unbound }, 'ingest keys bound to no cluster or source: POST /v1/telemetry refuses them (add cluster=<id> and/or source=<prefix>, or cluster=* for any)');
  log.info({ config: redactConfig(config), policyVersion: pack.version, apiKeys: apiKeys.length }, 'starting');

  const { redis, kafka } = await connectInfra(service, { redis: redisDriver, kafka: kafkaDriver });
  // The API may start before any ingest: telemetry it accepts must have a topic to go to.
  await ensureTopics(kafka, [{ topic: config.TELEMETRY_TOPIC, partitions: config.TOPIC_PARTITIONS }]);
  const producer = createProducer(kafka, { idempotent: true, log });
  const app = await buildApp({
    store: createStore({ redis, prefix: config.REDIS_PREFIX, auditRetentionDays: config.AUDIT_RETENTION_DAYS }),
    pack,
    producer,
    telemetryTopic: config.TELEMETRY_TOPIC,
    apiKeys,
    log,
    metricsRegistry: createMetricsRegistry({ service: 'api' }),
    checks: {
      redis: async () => void (await redis.ping()),
      // Offsets of the telemetry topic: the broker answers and the topic exists.
      kafka: async () => void (await consumerLag(kafka, `${config.KAFKA_CLIENT_ID}-readiness`, [config.TELEMETRY_TOPIC])),
    },
    rateLimitStore: config.RATE_LIMIT_STORE === 'redis' || (config.RATE_LIMIT_STORE === 'auto' && config.API_REPLICAS > 1) ? { redis, prefix: config.REDIS_PREFIX } : null,
    limits: { bodyLimit: config.BODY_LIMIT, rateLimitMax: config.RATE_LIMIT_MAX, rateLimitWindowMs: config.RATE_LIMIT_WINDOW, requestTimeoutMs: config.REQUEST_TIMEOUT },
    metricsPublic: config.METRICS_PUBLIC,
    webhooks: { policy: { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowList: config.WEBHOOK_ALLOW_LIST }, rotationGraceMs: config.WEBHOOK_ROTATION_GRACE },
    consoleDir: config.CONSOLE_DIR,
  });
  shutdown.add('http', async () => {
    await app.close();
    log.info('api stopped');
  });
  const url = await app.listen({ host: config.API_HOST, port: config.API_PORT });
  log.info({ url, docs: `${url}/docs`, console: `${url}/console/` }, 'api ready');
});
