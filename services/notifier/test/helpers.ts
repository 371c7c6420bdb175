import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { alertId, type Alert, type AlertRule, type Severity } from '@flopwatch/contracts';
import { createKafkaClient } from '@flopwatch/kafka';
import { createMetricsRegistry } from '@flopwatch/runtime';
import { createKeys, createStore, type Store } from '@flopwatch/store';
import { afterAll, afterEach } from 'vitest';
import { dropPrefix, freshPrefix, kafkaBrokers, redisUrl, testKafka, uniqueId } from '@flopwatch/test-harness';
import { generateSecret } from '@flopwatch/webhooks';
import type { AlertmanagerOptions } from '../src/alertmanager.js';
import { createNotifier, type Notifier } from '../src/app.js';

export const silent = pino({ level: 'silent' });
export const TEST_POLICY = { allowHttp: true, allowList: ['127.0.0.1/32'] };
export const SHORT_SCHEDULE = [50, 100, 200];

/** A valid alert; `subject` and `level` make its id. */
export function makeAlert(subject: string, over: { level?: number; severity?: Severity; rule?: AlertRule } = {}): Alert {
  const rule = over.rule ?? 'frontier-approach';
  const level = over.level ?? 0.5;
  return {
    id: alertId({ rule, scope: 'tenant', subject, level }),
    rule, scope: 'tenant', subject, level,
    threshold: 1e26, observedOperations: level * 1e26, projectedCrossingAt: null,
    severity: over.severity ?? 'high',
    kyc: { tenantId: subject, hqCountry: 'CN', ownerCountries: ['CN'], tier: 2, kycStatus: 'verified', trusted: false, reasons: ['tier 2 country'] },
    hardware: { countries: ['US'], tiers: [1], models: ['nvidia-h100-sxm5-80gb'] },
    evidence: { topJobs: [], contributingTenants: [{ tenantId: subject, operations: level * 1e26 }] },
    policyVersion: 'test-1', raisedAt: new Date().toISOString(), status: 'open',
    history: [{ at: new Date().toISOString(), action: 'raise', from: null, to: 'open', actor: 'flopwatch' }],
  };
}

export interface Received {
  webhookId: string;
  timestamp: string;
  signature: string;
  body: string;
  verified: boolean;
  at: number;
  /** Path and query the request was sent to. */
  path: string;
}

/** A real HTTP receiver on 127.0.0.1 that verifies each delivery with the standardwebhooks package. */
export async function startReceiver(secretOf: () => string[], respond: (req: Received, n: number) => { status: number; headers?: Record<string, string> } = () => ({ status: 204 })) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
      const verified = secretOf().some((s) => {
        try {
          new Webhook(s).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      const r: Received = { webhookId: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'], body, verified, at: Date.now(), path: req.url ?? '' };
      received.push(r);
      const answer = respond(r, received.filter((x) => x.webhookId === r.webhookId).length);
      res.writeHead(answer.status, answer.headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Registers an endpoint directly in the store; returns its id and secret. */
export async function addEndpoint(store: Store, url: string, filter: Partial<{ minSeverity: string | null; rules: string[]; tenants: string[] }> = {}) {
  const id = uniqueId('we');
  const secret = generateSecret();
  await store.webhooks.createEndpoint({ id, url, description: 'test', filter: { minSeverity: null, rules: [], tenants: [], ...filter }, createdAt: new Date().toISOString(), disabled: null }, secret);
  return { id, secret };
}

export interface TestNotifierOptions {
  prefix: string;
  topic: string;
  group: string;
  alertmanager?: AlertmanagerOptions | null;
  scheduleMs?: number[];
  claimIdleMs?: number;
  disableAfterMs?: number;
}

/** A notifier in this process on its own Redis connection; `close()` stops it and its clients. */
export async function startNotifier(options: TestNotifierOptions): Promise<{ notifier: Notifier; store: Store; metrics: Registry; close(): Promise<void> }> {
  const redis = new Redis(redisUrl());
  const store = createStore({ redis, prefix: options.prefix });
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('notifier'), logger: silent });
  const metrics = createMetricsRegistry({ service: 'notifier', collectDefault: false });
  const notifier = createNotifier({
    kafka, store, metricsRegistry: metrics, log: silent,
    topic: { name: options.topic, partitions: 1 },
    outbox: { group: options.group, consumer: uniqueId('c'), claimIdleMs: options.claimIdleMs ?? 500 },
    pollIntervalMs: 20,
    webhooks: { policy: TEST_POLICY, retry: { scheduleMs: options.scheduleMs ?? SHORT_SCHEDULE, jitter: 0.1 }, timeoutMs: 2_000, maxResponseBytes: 1_024, concurrency: 8, disableAfterMs: options.disableAfterMs ?? 86_400_000 },
    alertmanager: options.alertmanager ?? null,
  });
  await notifier.start();
  return {
    notifier, store, metrics,
    async close() {
      await notifier.close();
      await kafka.close();
      redis.disconnect();
    },
  };
}

/** Collects every record of `topic` from the beginning. */
export async function collectTopic(topic: string) {
  const records: { key: string; value: Alert; type: string }[] = [];
  const consumer = testKafka().consumer({ groupId: uniqueId('g') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      records.push({ key: String(message.key), value: JSON.parse(String(message.value)) as Alert, type: String(message.headers?.['event-type']) });
    },
  });
  return { records, close: () => consumer.disconnect() };
}

export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The value of one counter series in `registry` (0 when absent). */
export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const series = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return series.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)).reduce((sum, v) => sum + v.value, 0);
}

/**
 * A test file's Redis client, its cleanups (run after each test, newest first) and `setup()`, which
 * gives each test a fresh key prefix, store, alerts topic and consumer group; every prefix is
 * dropped after the file.
 */
export function notifierTestEnv(label: string) {
  const redis = new Redis(redisUrl());
  const cleanups: (() => Promise<unknown>)[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await dropPrefix(redis, ...prefixes);
    redis.disconnect();
  });
  function setup() {
    const prefix = freshPrefix(label);
    prefixes.push(prefix);
    return { prefix, store: createStore({ redis, prefix }), keys: createKeys(prefix), topic: uniqueId('alerts'), group: uniqueId('grp') };
  }
  return { redis, cleanups, setup };
}
