import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { dropPrefix, freshPrefix, freshTopics, kafkaBrokers, redisUrl, testKafka, uniqueId } from '@flopwatch/test-harness';
import { alertId, type Alert, type Tenant } from '@flopwatch/contracts';
import { consumerLag, createKafkaClient, createProducer } from '@flopwatch/kafka';
import { loadPolicyPack, type PolicyPack } from '@flopwatch/policy';
import { createKeys, createStore, type Keys, type Store } from '@flopwatch/store';
import { buildApp, type App, type ApiLimits } from '../src/app.js';
import type { ApiDeps } from '../src/deps.js';
import { hashKey, parseApiKeys, type Role } from '../src/auth.js';

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
export const defaultPack = (): PolicyPack => loadPolicyPack(new URL('../../../deploy/policy/default.yaml', import.meta.url).pathname);

/** One plaintext key per role; the app is configured with their hashes only. */
export const KEYS: Record<Role, string> = { admin: 'k-admin-0001', analyst: 'k-analyst-0001', ingest: 'k-ingest-0001', viewer: 'k-viewer-0001' };
export const auth = (role: Role) => ({ authorization: `Bearer ${KEYS[role]}` });
/** The audit actor of each role's key. */
export const ACTOR: Record<Role, string> = { admin: 'root', analyst: 'alice', ingest: 'slurm', viewer: 'grafana' };

export interface TestApi {
  app: App;
  store: Store;
  /** The run's own Redis client and the store's key names, to read Redis directly. */
  redis: Redis;
  /** The store's key prefix (for key names through createKeys). */
  prefix: string;
  keys: Keys;
  topic: string;
  pack: PolicyPack;
  close(): Promise<void>;
}

/** The API over the run's Redis (a fresh prefix) and Kafka (a fresh telemetry topic). */
export async function startApi(opts: { limits?: Partial<ApiLimits>; metricsPublic?: boolean; now?: () => Date; webhooks?: ApiDeps['webhooks']; telemetryTopic?: string; consoleDir?: string; rateLimitPrefix?: string; readyCacheMs?: number; extraKeys?: string; auditSealing?: ApiDeps['auditSealing']; screening?: ApiDeps['screening']; statements?: ApiDeps['statements']; caseSweep?: ApiDeps['caseSweep'] } = {}): Promise<TestApi> {
  const redis = new Redis(redisUrl(), { enableAutoPipelining: true });
  const prefix = freshPrefix('api');
  const store = createStore({ redis, prefix });
  const [topic] = await freshTopics(['telemetry']);
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('api'), logger: silent });
  const producer = createProducer(kafka, { idempotent: true, log: silent });
  const pack = defaultPack();
  // The shared ingest key may report for any cluster; telemetry-scope.test.ts binds its own keys (extraKeys).
  const spec = [...(Object.keys(KEYS) as Role[]).map((r) => `${r}:${ACTOR[r]}:${hashKey(KEYS[r])}${r === 'ingest' ? ' cluster=*' : ''}`), ...(opts.extraKeys ? [opts.extraKeys] : [])].join(',');
  const app = await buildApp({
    store,
    pack,
    producer,
    telemetryTopic: opts.telemetryTopic ?? topic,
    apiKeys: parseApiKeys(spec),
    log: silent,
    metricsRegistry: new Registry(),
    checks: {
      redis: async () => void (await redis.ping()),
      kafka: async () => void (await consumerLag(kafka, 'api-readiness', [topic])),
    },
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.rateLimitPrefix ? { rateLimitStore: { redis, prefix: opts.rateLimitPrefix } } : {}),
    readyCacheMs: opts.readyCacheMs ?? 0,
    ...(opts.metricsPublic === undefined ? {} : { metricsPublic: opts.metricsPublic }),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
    ...(opts.consoleDir ? { consoleDir: opts.consoleDir } : {}),
    ...(opts.auditSealing !== undefined ? { auditSealing: opts.auditSealing } : {}),
    ...(opts.screening ? { screening: opts.screening } : {}),
    ...(opts.statements ? { statements: opts.statements } : {}),
    ...(opts.caseSweep !== undefined ? { caseSweep: opts.caseSweep } : {}),
  });
  return {
    app, store, redis, prefix, keys: createKeys(prefix), topic, pack,
    close: async () => {
      await app.close();
      await producer.close();
      await kafka.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/** Reads every message of `topic` from the beginning until `count` arrived or `timeoutMs` passed. */
export async function consumeAll(topic: string, count: number, timeoutMs = 10_000): Promise<{ key: string | null; value: string }[]> {
  const consumer = testKafka().consumer({ groupId: uniqueId('reader') });
  const out: { key: string | null; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '' });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** A valid KYC record. */
export function tenant(id: string, over: Partial<Tenant> = {}): Tenant {
  return {
    id,
    legalName: `${id} Ltd`,
    hqCountry: 'US',
    ultimateParent: null,
    beneficialOwners: [],
    identifiers: { paymentFingerprints: [], contactDomains: [] },
    kycStatus: 'verified',
    validatedEndUser: false,
    entityListMatch: false,
    notes: '',
    ...over,
  };
}

/** A contract-valid alert, raised through the store as the ingest raises it. */
export async function raiseAlert(store: Store, over: Partial<Alert> & { subject: string; level?: number }): Promise<Alert> {
  const level = over.level ?? 0.5;
  const raisedAt = over.raisedAt ?? new Date().toISOString();
  const alert: Alert = {
    id: alertId({ rule: over.rule ?? 'tenant-approach', scope: over.scope ?? 'tenant', subject: over.subject, level }),
    rule: 'tenant-approach',
    scope: 'tenant',
    level,
    threshold: 1e26,
    observedOperations: 5.1e25,
    projectedCrossingAt: null,
    severity: 'medium',
    kyc: { tenantId: over.subject, hqCountry: 'CN', ownerCountries: [], tier: 3, kycStatus: 'pending', trusted: false, reasons: ['headquarters in a Tier 3 country'] },
    hardware: { countries: ['US'], tiers: [1], models: ['nvidia-h100-sxm5-80gb'] },
    evidence: { topJobs: [{ tenantId: over.subject, jobId: 'cluster-a/1', operations: 5.1e25 }], contributingTenants: [{ tenantId: over.subject, operations: 5.1e25 }] },
    policyVersion: '2026.11-1',
    status: 'open',
    history: [{ at: raisedAt, action: 'raise', from: null, to: 'open', actor: 'flopwatch-ingest' }],
    ...over,
    raisedAt,
  };
  await store.alerts.raise(alert);
  return alert;
}
