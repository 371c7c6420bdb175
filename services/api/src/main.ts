// Composition root of the API: config → logger → clients → buildApp → listen; close on signal.
import { readFileSync } from 'node:fs';
import { consumerLag, createProducer, ensureTopics, kafkaDriver } from '@flopwatch/kafka';
import { loadPolicyPack } from '@flopwatch/policy';
import { connectInfra, createMetricsRegistry, redactConfig, startService } from '@flopwatch/runtime';
import { createStore, parseAuditKeys, redisDriver } from '@flopwatch/store';
import { buildApp } from './app.js';
import { auditTopicReader, ensureAuditTopic } from './audit-topic.js';
import { parseApiKeys } from './auth.js';
import { apiConfigSchema } from './config.js';
import { createStatementSigner } from './statements/signing.js';

const service = startService({ name: 'api', schema: apiConfigSchema, env: process.env });
const { config, log, shutdown } = service;

await service.run(async () => {
  const pack = loadPolicyPack(config.POLICY_FILE);
  const apiKeys = parseApiKeys([config.API_KEYS, config.API_KEYS_FILE ? readFileSync(config.API_KEYS_FILE, 'utf8') : ''].join('\n'));
  if (apiKeys.length === 0) log.warn('no API keys configured (API_KEYS / API_KEYS_FILE): every /v1 route will answer 401');
  const unbound = apiKeys.filter((k) => k.role === 'ingest' && !k.scope).map((k) => k.name);
  if (unbound.length > 0) log.warn({ keys: unbound }, 'ingest keys bound to no cluster or source: POST /v1/telemetry refuses them (add cluster=<id> and/or source=<prefix>, or cluster=* for any)');
  // A bad key list stops the start-up (reportStartupFailure); its message never holds a secret.
  const auditKeyring = parseAuditKeys([config.AUDIT_HMAC_KEYS, config.AUDIT_HMAC_KEYS_FILE ? readFileSync(config.AUDIT_HMAC_KEYS_FILE, 'utf8') : ''].join('\n'), config.AUDIT_HMAC_ACTIVE_KEY);
  if (!auditKeyring) log.warn('no audit HMAC keys configured (AUDIT_HMAC_KEYS / AUDIT_HMAC_KEYS_FILE): audit entries are sealed unkeyed, and anyone with Redis access can rewrite the chain consistently');
  log.info({ config: redactConfig(config), policyVersion: pack.version, apiKeys: apiKeys.length, auditKeyIds: auditKeyring ? [...auditKeyring.keys.keys()] : [] }, 'starting');

  const { redis, kafka } = await connectInfra(service, { redis: redisDriver, kafka: kafkaDriver });
  // The API may start before any ingest: telemetry it accepts must have a topic to go to.
  await ensureTopics(kafka, [{ topic: config.TELEMETRY_TOPIC, partitions: config.TOPIC_PARTITIONS }]);
  if (config.AUDIT_PUBLISH) await ensureAuditTopic(kafka, config.AUDIT_TOPIC, config.AUDIT_TOPIC_RETENTION);
  const producer = createProducer(kafka, { idempotent: true, log });
  const store = createStore({ redis, prefix: config.REDIS_PREFIX, auditRetentionDays: config.AUDIT_RETENTION_DAYS, auditKeyring, auditPublish: config.AUDIT_PUBLISH, linkMaxShared: config.LINK_MAX_SHARED });
  // A registry linked by an older rule is relinked before the API takes KYC writes (docs/detection.md).
  const relinked = await store.registry.rebuildLinks({ onProgress: (done) => done % 10_000 === 0 && log.info({ tenants: done }, 'relinking tenants') });
  if (relinked) log.info({ groupsChanged: relinked.length }, 'tenant links rebuilt with the current linking rule');
  const signer = config.STATEMENT_SIGNING_KEY_FILE
    ? createStatementSigner({
      privateKeyPem: readFileSync(config.STATEMENT_SIGNING_KEY_FILE, 'utf8'),
      ...(config.STATEMENT_KEY_ID ? { keyId: config.STATEMENT_KEY_ID } : {}),
      retired: config.STATEMENT_RETIRED_KEYS_FILE ? (JSON.parse(readFileSync(config.STATEMENT_RETIRED_KEYS_FILE, 'utf8')) as { keys: { keyId: string; publicKey: string }[] }).keys : [],
    })
    : null;
  if (signer) log.info({ keyId: signer.keyId, retiredKeys: signer.publicKeys.length - 1 }, 'statements are signed');
  const app = await buildApp({
    store,
    ...(config.AUDIT_PUBLISH ? { auditTopic: { topic: config.AUDIT_TOPIC, producer, read: auditTopicReader(kafka, config.AUDIT_TOPIC, log) } } : {}),
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
    ...(config.SCREENING_LIST_FILE ? { screening: { path: config.SCREENING_LIST_FILE, intervalMs: config.SCREENING_CHECK_INTERVAL } } : {}),
    ...(signer ? {
      statements: {
        signer,
        telemetry: async () => ({
          topic: config.TELEMETRY_TOPIC,
          consumerGroup: config.INGEST_GROUP_ID,
          partitions: (await consumerLag(kafka, config.INGEST_GROUP_ID, [config.TELEMETRY_TOPIC])).map((p) => ({ partition: p.partition, end: p.high, committed: p.committed })),
        }),
      },
    } : {}),
  });
  shutdown.add('http', async () => {
    await app.close();
    log.info('api stopped');
  });
  const url = await app.listen({ host: config.API_HOST, port: config.API_PORT });
  log.info({ url, docs: `${url}/docs`, console: `${url}/console/` }, 'api ready');
});
