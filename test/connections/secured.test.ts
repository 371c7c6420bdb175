// Secured connections against real servers that demand them: a Kafka broker (the launcher's default
// version) with a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and an SSL listener that
// requires client certificates; redis-servers with `requirepass` and TLS, single and Cluster. The real
// ingest and the collector run against them as processes, and `pnpm dlq:replay` reads the DLQ through
// them; wrong settings must stop each at start with one line naming the connection, no stack trace and
// no secret. The API and the notifier start on them too: every service connects through connectInfra.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Cluster } from 'ioredis';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient, createProducer, ensureTopics, readTopicRange, verifyKafkaConnection, type KafkaClient, type KafkaPortError } from '@flopwatch/kafka';
import { kafkaSecurity, redisSecurity } from '@flopwatch/runtime';
import { connectRedis, createStore, verifyRedisConnection, type RedisConnectionError } from '@flopwatch/store';
import { loadPolicyPack } from '@flopwatch/policy';
import { usageEventSchema, type UsageEvent } from '@flopwatch/contracts';
import {
  makeTestCertificates,
  startSecureKafka,
  startSecureRedis,
  startSecureRedisCluster,
  spawnService,
  uniqueId,
  usageEvent,
  waitFor,
  type SecureKafka,
  type ServiceProcess,
  type SecureRedis,
  type TestCertificates,
} from '@flopwatch/test-harness';
import { groundTruth, spawnIngest, storedTotals } from '../../services/ingest/test/helpers.js';
import { DLQ_HEADERS } from '../../services/ingest/src/pipeline.js';
import { startDcgmStandIn } from '../../scripts/lib/dcgm-stand-in.js';

const silent = pino({ level: 'silent' });
const USERS = [
  { username: 'admin', password: 'admin-S3cret' },
  { username: 'alice', password: 'alice-Pa55word' },
];
const REDIS_PASSWORD = 'redis-Pa55word-xyz';
const pack = loadPolicyPack(new URL('../../deploy/policy/default.yaml', import.meta.url).pathname);

let certs: TestCertificates;
let kafka: SecureKafka;
let redisTls: SecureRedis; // TLS + requirepass
let redisAuth: SecureRedis; // requirepass, plaintext

beforeAll(async () => {
  certs = makeTestCertificates();
  [kafka, redisTls, redisAuth] = await Promise.all([
    startSecureKafka(certs, USERS),
    startSecureRedis({ password: REDIS_PASSWORD, tls: certs }),
    startSecureRedis({ password: REDIS_PASSWORD }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([kafka?.stop(), redisTls?.stop(), redisAuth?.stop()]);
  certs?.remove();
});

/** The settings a service would parse, for the shared security helpers. */
const kafkaEnv = (o: Partial<Record<string, string>> = {}) => kafkaSecurity({ KAFKA_TLS: false, ...o } as Parameters<typeof kafkaSecurity>[0]);

describe('Kafka with SASL', () => {
  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`produces through the SASL listener with ${mechanism}`, async () => {
      const security = kafkaEnv({ KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'alice-Pa55word' });
      const client = createKafkaClient({ brokers: [kafka.sasl], clientId: uniqueId('sasl'), logger: silent, security });
      try {
        expect(await verifyKafkaConnection(client)).toEqual({ ok: true });
        const topic = uniqueId(`sasl-${mechanism}`);
        await ensureTopics(client, [{ topic, partitions: 1 }]);
        const producer = createProducer(client, { idempotent: true });
        await producer.connect();
        const sent = await producer.send(topic, [{ key: 'k', value: 'one' }, { key: 'k', value: 'two' }]);
        expect(sent.length).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    });
  }

  it('rejects a wrong SCRAM password with KAFKA_AUTH naming the broker and the user, never the password', async () => {
    const security = kafkaEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'not-alices-password' });
    const client = createKafkaClient({ brokers: [kafka.sasl], clientId: uniqueId('bad'), logger: silent, security });
    const err = (await verifyKafkaConnection(client).catch((e: unknown) => e)) as KafkaPortError;
    await client.close();
    expect(err.code).toBe('KAFKA_AUTH');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`Kafka (${kafka.sasl}, plaintext, SASL scram-sha-256 as alice): authentication failed`);
    expect(JSON.stringify(err)).not.toContain('not-alices-password');
  });

  it('stops a client that speaks no SASL to a SASL listener, instead of retrying forever', async () => {
    const client = createKafkaClient({ brokers: [kafka.sasl], clientId: uniqueId('nosasl'), logger: silent, connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000 });
    const err = (await verifyKafkaConnection(client).catch((e: unknown) => e)) as KafkaPortError;
    await client.close();
    expect(err.code, JSON.stringify(err)).toBe('KAFKA_AUTH');
    expect(err.message).toContain(`Kafka (${kafka.sasl}, plaintext, no SASL)`);
  });
});

describe('Kafka with TLS', () => {
  it('connects with the CA and a client certificate (mutual TLS)', async () => {
    const security = kafkaEnv({ KAFKA_TLS_CA_FILE: certs.ca, KAFKA_TLS_CERT_FILE: certs.clientCert, KAFKA_TLS_KEY_FILE: certs.clientKey });
    expect(security.tls?.ca).toContain('BEGIN CERTIFICATE');
    const client = createKafkaClient({ brokers: [kafka.tls], clientId: uniqueId('tls'), logger: silent, security });
    try {
      expect(await verifyKafkaConnection(client)).toEqual({ ok: true });
      const topic = uniqueId('tls');
      await ensureTopics(client, [{ topic, partitions: 1 }]);
      const producer = createProducer(client, { idempotent: true });
      await producer.connect();
      expect((await producer.send(topic, [{ key: 'k', value: 'v' }])).length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('fails with KAFKA_TLS when the broker certificate is not signed by the configured CA', async () => {
    const security = kafkaEnv({ KAFKA_TLS_CA_FILE: certs.otherCa, KAFKA_TLS_CERT_FILE: certs.clientCert, KAFKA_TLS_KEY_FILE: certs.clientKey });
    const client = createKafkaClient({ brokers: [kafka.tls], clientId: uniqueId('tls-ca'), logger: silent, security });
    const err = (await verifyKafkaConnection(client).catch((e: unknown) => e)) as KafkaPortError;
    await client.close();
    expect(err.code).toBe('KAFKA_TLS');
    expect(err.message).toContain(`Kafka (${kafka.tls}, TLS, no SASL): TLS handshake failed`);
  });

  it('fails (not retried forever) when the broker requires a client certificate and none is given', async () => {
    const client = createKafkaClient({ brokers: [kafka.tls], clientId: uniqueId('tls-nocert'), logger: silent, security: kafkaEnv({ KAFKA_TLS_CA_FILE: certs.ca }) });
    const err = (await verifyKafkaConnection(client).catch((e: unknown) => e)) as KafkaPortError;
    await client.close();
    expect(['KAFKA_TLS', 'KAFKA_AUTH']).toContain(err.code);
    expect(err.retryable).toBe(false);
  });
});

describe('Redis with a password and TLS', () => {
  const redisEnv = (o: Record<string, string>) => redisSecurity({ REDIS_TLS: false, ...o } as Parameters<typeof redisSecurity>[0]);

  it('connects to a TLS + requirepass server and refuses a wrong CA or password with one clear error', async () => {
    const good = connectRedis({ url: redisTls.url, security: redisEnv({ REDIS_URL: redisTls.url, REDIS_PASSWORD, REDIS_TLS_CA_FILE: certs.ca }) });
    good.on('error', () => {});
    try {
      expect(await verifyRedisConnection(good, redisTls.url)).toBe(true);
      const key = uniqueId('tls-key');
      await good.set(key, 'v');
      expect(await good.get(key)).toBe('v');
    } finally {
      good.disconnect();
    }

    const wrongCa = connectRedis({ url: redisTls.url, security: redisEnv({ REDIS_URL: redisTls.url, REDIS_PASSWORD, REDIS_TLS_CA_FILE: certs.otherCa }) });
    wrongCa.on('error', () => {});
    const tlsErr = (await verifyRedisConnection(wrongCa, redisTls.url).catch((e: unknown) => e)) as RedisConnectionError;
    wrongCa.disconnect();
    expect(tlsErr.code).toBe('REDIS_TLS');
    expect(tlsErr.message).toContain(`Redis (rediss://127.0.0.1:${redisTls.port}): TLS handshake failed`);

    const wrongPw = connectRedis({ url: redisTls.url, security: redisEnv({ REDIS_URL: redisTls.url, REDIS_PASSWORD: 'wrong-one', REDIS_TLS_CA_FILE: certs.ca }) });
    wrongPw.on('error', () => {});
    const authErr = (await verifyRedisConnection(wrongPw, redisTls.url).catch((e: unknown) => e)) as RedisConnectionError;
    wrongPw.disconnect();
    expect(authErr.code).toBe('REDIS_AUTH');
    expect(authErr.message).toContain(`Redis (rediss://127.0.0.1:${redisTls.port}): authentication failed`);
    expect(authErr.message).not.toContain('wrong-one');
  });

  it('logs in as an ACL user (REDIS_USERNAME) and refuses an unknown one', async () => {
    const admin = connectRedis({ url: redisAuth.url, security: { password: REDIS_PASSWORD } });
    admin.on('error', () => {});
    const user = uniqueId('acl').replace(/[^a-z0-9-]/g, '');
    try {
      await admin.call('ACL', 'SETUSER', user, 'on', '>acl-Pa55word', '~*', '&*', '+@all');
      const asUser = connectRedis({ url: redisAuth.url, security: redisEnv({ REDIS_URL: redisAuth.url, REDIS_USERNAME: user, REDIS_PASSWORD: 'acl-Pa55word' }) });
      asUser.on('error', () => {});
      try {
        expect(await verifyRedisConnection(asUser, redisAuth.url)).toBe(true);
        expect(await asUser.call('ACL', 'WHOAMI')).toBe(user);
      } finally {
        asUser.disconnect();
      }
      const stranger = connectRedis({ url: redisAuth.url, security: redisEnv({ REDIS_URL: redisAuth.url, REDIS_USERNAME: 'nobody-here', REDIS_PASSWORD: 'acl-Pa55word' }) });
      stranger.on('error', () => {});
      const err = (await verifyRedisConnection(stranger, redisAuth.url).catch((e: unknown) => e)) as RedisConnectionError;
      stranger.disconnect();
      expect(err.code).toBe('REDIS_AUTH');
    } finally {
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    }
  });

  it('refuses a missing password (NOAUTH) at once rather than retrying', async () => {
    const none = connectRedis({ url: redisAuth.url });
    none.on('error', () => {});
    const err = (await verifyRedisConnection(none, redisAuth.url).catch((e: unknown) => e)) as RedisConnectionError;
    none.disconnect();
    expect(err.code).toBe('REDIS_AUTH');
  });

  it('keeps the password and TLS on every node of a Redis Cluster', async () => {
    const cluster = await startSecureRedisCluster({ password: REDIS_PASSWORD, tls: certs });
    try {
      const url = cluster.nodes;
      const redis = connectRedis({ url, cluster: true, security: redisEnv({ REDIS_URL: url, REDIS_PASSWORD, REDIS_TLS_CA_FILE: certs.ca }) });
      redis.on('error', () => {});
      try {
        expect(await verifyRedisConnection(redis, url, 20_000)).toBe(true);
        // 64 keys spread over the 16,384 slots land on all three nodes: each node needs the password and TLS.
        const keys = Array.from({ length: 64 }, (_, i) => `${uniqueId('slot')}-${i}`);
        await Promise.all(keys.map((k, i) => redis.set(k, String(i))));
        expect(await Promise.all(keys.map((k) => redis.get(k)))).toEqual(keys.map((_, i) => String(i)));
        const nodes = (redis as Cluster).nodes('master');
        expect(nodes).toHaveLength(3);
      } finally {
        redis.disconnect();
      }
      const wrong = connectRedis({ url, cluster: true, security: redisEnv({ REDIS_URL: url, REDIS_PASSWORD: 'nope', REDIS_TLS_CA_FILE: certs.ca }) });
      wrong.on('error', () => {});
      const err = (await verifyRedisConnection(wrong, url, 20_000).catch((e: unknown) => e)) as RedisConnectionError;
      wrong.disconnect();
      expect(err.code).toBe('REDIS_AUTH');
    } finally {
      await cluster.stop();
    }
  }, 90_000);
});

/** A service's settings for SCRAM-SHA-512 Kafka as alice and the TLS + password Redis, under `id`. */
const securedEnv = (id: string): Record<string, string> => ({
  KAFKA_BROKERS: kafka.sasl,
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'alice',
  KAFKA_SASL_PASSWORD: 'alice-Pa55word',
  REDIS_URL: redisTls.url,
  REDIS_PASSWORD,
  REDIS_TLS_CA_FILE: certs.ca,
  REDIS_PREFIX: `${id}:`,
  TELEMETRY_TOPIC: `${id}-telemetry`,
  TOPIC_PARTITIONS: '2',
});

/** A process's exit code, or 'still running' (then killed) when it outlives `ms`. */
async function exitWithin(proc: ServiceProcess, ms = 45_000): Promise<number | null | 'still running'> {
  const code = await Promise.race([proc.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);
  if (code === 'still running') proc.child.kill('SIGKILL');
  return code;
}

/** The process stops at start with exit 1 and a line matching `expected`: no stack trace, no secret. */
async function expectStartFailure(proc: ServiceProcess, expected: RegExp): Promise<void> {
  const code = await exitWithin(proc);
  const output = proc.lines.join('\n');
  expect(code, output).toBe(1);
  expect(output).toMatch(expected);
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toContain('"stack"');
  for (const secret of ['alice-Pa55word', REDIS_PASSWORD, 'wrong-Kafka-pw', 'wrong-Redis-pw']) expect(output).not.toContain(secret);
}

describe('the ingest process on secured connections', () => {
  const base = () => {
    const id = uniqueId('sec');
    return {
      id,
      env: {
        ...securedEnv(id),
        SLURM_TOPIC: '',
        DLQ_TOPIC: `${id}-dlq`,
        INGEST_GROUP_ID: `${id}-group`,
      } as Record<string, string>,
    };
  };

  it('counts telemetry read over SCRAM-SHA-512 into a TLS Redis with a password, logging no secret', async () => {
    const { id, env } = base();
    const passwordFile = join(certs.dir, 'kafka-password');
    writeFileSync(passwordFile, 'alice-Pa55word\n');
    delete env.KAFKA_SASL_PASSWORD;
    env.KAFKA_SASL_PASSWORD_FILE = passwordFile;
    const proc = spawnIngest(env);
    try {
      await waitFor(() => proc.lines.some((l) => l.includes('ingest ready')) || proc.child.exitCode !== null, {
        timeoutMs: 60_000,
        what: 'the ingest to start',
      });
      expect(proc.child.exitCode, proc.lines.join('\n')).toBeNull();

      // A producer of its own, over SCRAM-SHA-256 as another user.
      const client = createKafkaClient({
        brokers: [kafka.sasl],
        clientId: uniqueId('producer'),
        logger: silent,
        security: kafkaEnv({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: 'admin-S3cret' }),
      });
      const t0 = Date.now() - 6 * 3_600_000;
      const events = [0, 1, 2].map((i) => usageEvent({ tenantId: `${id}-tenant`, jobId: 'job-1', startMs: t0 + i * 60_000, seconds: 60 })) as UsageEvent[];
      try {
        await ensureTopics(client, [{ topic: env.TELEMETRY_TOPIC!, partitions: 2 }]);
        const producer = createProducer(client, { idempotent: true });
        await producer.connect();
        await producer.send(env.TELEMETRY_TOPIC!, events.map((e) => ({ key: e.data.tenantId, value: JSON.stringify(e) })));
      } finally {
        await client.close();
      }

      const redis = connectRedis({ url: redisTls.url, security: { password: REDIS_PASSWORD, tls: { ca: readFileSync(certs.ca, 'utf8') } } });
      redis.on('error', () => {});
      try {
        const store = createStore({ redis, prefix: `${id}:` });
        const truth = groundTruth(events, pack);
        expect([...truth.values()][0]).toBeGreaterThan(0);
        await waitFor(async () => {
          const got = await storedTotals(store, truth.keys());
          return [...truth].every(([t, v]) => got.get(t) === v);
        }, { timeoutMs: 60_000, what: 'the secured ingest to count the events' });
        expect(await storedTotals(store, truth.keys())).toEqual(truth);
        const keys = await redis.keys(`${id}:*`);
        if (keys.length > 0) await redis.unlink(...keys);
      } finally {
        redis.disconnect();
      }
    } finally {
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    }
    const output = proc.lines.join('\n');
    for (const secret of ['alice-Pa55word', 'admin-S3cret', REDIS_PASSWORD]) expect(output).not.toContain(secret);
  });

  it('joins its group over mutual TLS (KAFKA_TLS_* files) and stops cleanly', async () => {
    const { env } = base();
    for (const k of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']) delete env[k];
    const proc = spawnIngest({ ...env, KAFKA_BROKERS: kafka.tls, KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: certs.ca, KAFKA_TLS_CERT_FILE: certs.clientCert, KAFKA_TLS_KEY_FILE: certs.clientKey });
    try {
      await waitFor(() => proc.lines.some((l) => l.includes('ingest ready')) || proc.child.exitCode !== null, { timeoutMs: 60_000, what: 'the ingest to start over TLS' });
      expect(proc.child.exitCode, proc.lines.join('\n')).toBeNull();
    } finally {
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
    }
    expect(proc.lines.join('\n')).not.toContain('BEGIN PRIVATE KEY');
  });

  const cases: { what: string; change: Record<string, string>; expected: RegExp }[] = [
    {
      what: 'a wrong SCRAM password',
      change: { KAFKA_SASL_PASSWORD: 'wrong-Kafka-pw' },
      expected: /^ingest failed to start: Kafka \(127\.0\.0\.1:\d+, plaintext, SASL scram-sha-512 as alice\): authentication failed/m,
    },
    {
      what: 'a wrong Redis password',
      change: { REDIS_PASSWORD: 'wrong-Redis-pw' },
      expected: /^ingest failed to start: Redis \(rediss:\/\/127\.0\.0\.1:\d+\): authentication failed/m,
    },
    {
      what: 'a Redis CA that did not sign the server certificate',
      change: { REDIS_TLS_CA_FILE: '' },
      expected: /^ingest failed to start: Redis \(rediss:\/\/127\.0\.0\.1:\d+\): TLS handshake failed/m,
    },
  ];
  for (const c of cases) {
    it(`stops at start on ${c.what}, with one line naming the connection, no stack trace and no secret`, async () => {
      const { env } = base();
      const change = { ...c.change };
      if ('REDIS_TLS_CA_FILE' in change) change.REDIS_TLS_CA_FILE = certs.otherCa;
      await expectStartFailure(spawnIngest({ ...env, ...change }), c.expected);
    });
  }
});

/** Every message of `topic`, read through `client` (values as text). */
async function readAll(client: KafkaClient, topic: string): Promise<{ key: string | null; value: string; headers: Record<string, string> }[]> {
  const out: { key: string | null; value: string; headers: Record<string, string> }[] = [];
  await readTopicRange(client, {
    topic,
    idleTimeoutMs: 10_000,
    onMessages: async (_p, messages) => {
      for (const m of messages) {
        const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
        out.push({ key: m.key?.toString() ?? null, value: m.value?.toString() ?? '', headers });
      }
    },
  });
  return out;
}

describe('the collector process on secured connections', () => {
  const crashInjector = new URL('../../services/ingest/test/fixtures/crash-on-signal.mjs', import.meta.url).pathname;
  let exporter: Awaited<ReturnType<typeof startDcgmStandIn>>;
  beforeAll(async () => {
    // One node, two GPUs, both held by a pod of namespace sec-ns.
    exporter = await startDcgmStandIn([{ hostname: 'sec-node', gpus: 2, pod: { namespace: 'sec-ns', name: 'sec-pod', gpus: 2 } }]);
  });
  afterAll(async () => exporter?.close());

  const base = () => {
    const id = uniqueId('col');
    writeFileSync(join(certs.dir, `${id}-tenants.yaml`), `namespaces: { sec-ns: ${id}-tenant }\naccounts: {}\n`);
    writeFileSync(join(certs.dir, `${id}-slurm.yaml`), 'partitions: { gpu: { accelerator: nvidia-h100-sxm5-80gb } }\nclusters: { sec-cluster: { country: US } }\n');
    return {
      id,
      env: {
        ...securedEnv(id),
        TENANT_MAPPING_FILE: join(certs.dir, `${id}-tenants.yaml`),
        SLURM_MAPPING_FILE: join(certs.dir, `${id}-slurm.yaml`),
        DCGM_TARGETS: exporter.urls.join(','),
        DCGM_CLUSTER: 'sec-cluster',
        DCGM_SCRAPE_INTERVAL: '1s',
        DCGM_SCRAPE_TIMEOUT: '500ms',
        DCGM_REPORT_PERIOD: '2s',
      } as Record<string, string>,
    };
  };
  const plain = () => createKafkaClient({ brokers: [kafka.plaintext], clientId: uniqueId('reader'), logger: silent });

  it('on a crash over SCRAM-SHA-512 and a TLS Redis: logs it, produces the open DCGM period, closes its clients and exits 1', async () => {
    const { id, env } = base();
    // An hour's report period: what reaches the topic after the crash was sent by the crash's shutdown.
    const proc = spawnService('collector', { ...env, DCGM_REPORT_PERIOD: '1h', NODE_OPTIONS: `--import=${crashInjector}`, FLOPWATCH_TEST_CRASH: 'exception' });
    const reader = plain();
    let before = 0;
    let events: UsageEvent[] = [];
    try {
      await waitFor(() => proc.lines.some((l) => l.includes('collector ready')) || proc.child.exitCode !== null, { timeoutMs: 60_000, what: 'the collector to start' });
      expect(proc.child.exitCode, proc.lines.join('\n')).toBeNull();
      const ops = (JSON.parse(proc.lines.find((l) => l.includes('ops server listening'))!) as { url: string }).url;
      const scrapes = async () => Number(/^flopwatch_collector_dcgm_scrapes_total\{[^}]*result="ok"[^}]*\} (\d+)/m.exec(await (await fetch(`${ops}/metrics`)).text())?.[1] ?? 0);
      before = (await readAll(reader, env.TELEMETRY_TOPIC!)).length;
      // A scrape after that read is in the open period when the crash comes.
      const seen = await scrapes();
      await waitFor(async () => (await scrapes()) > seen, { timeoutMs: 30_000, what: 'a scrape of the stand-in' });
      proc.child.kill('SIGUSR2');
      expect(await exitWithin(proc), proc.lines.join('\n')).toBe(1);
      events = (await readAll(reader, env.TELEMETRY_TOPIC!)).map((m) => usageEventSchema.parse(JSON.parse(m.value)));
    } finally {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      await reader.close();
    }
    expect(events.length).toBeGreaterThan(before);
    for (const e of events) {
      expect(e.data).toMatchObject({ tenantId: `${id}-tenant`, node: 'sec-node', cluster: { id: 'sec-cluster', country: 'US' } });
      expect(e.data.utilization?.tensorActive).toBeGreaterThan(0);
    }
    const logged = proc.lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as { level: string; msg: string; kind?: string; step?: string; err?: { message?: string } }];
      } catch {
        return [];
      }
    });
    expect(logged.find((l) => l.level === 'fatal' && l.kind === 'uncaughtException')?.err?.message).toBe('injected uncaught exception');
    expect(logged.filter((l) => l.msg === 'closed').map((l) => l.step)).toEqual(expect.arrayContaining(['collector', 'ops-server', 'kafka', 'redis']));
    const output = proc.lines.join('\n');
    for (const secret of ['alice-Pa55word', REDIS_PASSWORD]) expect(output).not.toContain(secret);
  }, 120_000);

  it('produces over mutual TLS (KAFKA_TLS_* files) from an exporter found by DNS, and stops cleanly on SIGTERM', async () => {
    const { env } = base();
    for (const k of ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'DCGM_TARGETS']) delete env[k];
    // The stand-in listens on 127.0.0.1: `localhost` is the name a headless Service would be.
    env.DCGM_DNS_SD = `localhost:${new URL(exporter.urls[0]!).port}`;
    const proc = spawnService('collector', { ...env, KAFKA_BROKERS: kafka.tls, KAFKA_TLS_CA_FILE: certs.ca, KAFKA_TLS_CERT_FILE: certs.clientCert, KAFKA_TLS_KEY_FILE: certs.clientKey });
    const reader = plain();
    try {
      await waitFor(() => proc.lines.some((l) => l.includes('collector ready')) || proc.child.exitCode !== null, { timeoutMs: 60_000, what: 'the collector to start over TLS' });
      expect(proc.child.exitCode, proc.lines.join('\n')).toBeNull();
      await waitFor(async () => (await readAll(reader, env.TELEMETRY_TOPIC!)).length > 0, { timeoutMs: 60_000, intervalMs: 1_000, what: 'DCGM reports over TLS' });
    } finally {
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      await reader.close();
    }
    expect(proc.lines.join('\n')).not.toContain('BEGIN PRIVATE KEY');
  }, 120_000);

  const cases: { what: string; change: Record<string, string>; expected: RegExp }[] = [
    { what: 'a wrong SCRAM password', change: { KAFKA_SASL_PASSWORD: 'wrong-Kafka-pw' }, expected: /^collector failed to start: Kafka \(127\.0\.0\.1:\d+, plaintext, SASL scram-sha-512 as alice\): authentication failed/m },
    { what: 'a wrong Redis password', change: { REDIS_PASSWORD: 'wrong-Redis-pw' }, expected: /^collector failed to start: Redis \(rediss:\/\/127\.0\.0\.1:\d+\): authentication failed/m },
    { what: 'a Kafka SASL mechanism without a password', change: { KAFKA_SASL_PASSWORD: '' }, expected: /KAFKA_SASL_PASSWORD.*is required/ },
  ];
  for (const c of cases) {
    it(`stops at start on ${c.what}, with one line naming the connection, no stack trace and no secret`, async () => {
      await expectStartFailure(spawnService('collector', { ...base().env, ...c.change }), c.expected);
    });
  }
});

// Every service opens Redis and Kafka through connectInfra (@flopwatch/runtime): the API and the notifier
// start on the secured connections like the ingest and the collector, and stop the same way on wrong ones.
const otherServices = [
  { name: 'api', ready: 'api ready', env: (_id: string) => ({ API_PORT: '0' }) as Record<string, string> },
  { name: 'notifier', ready: 'notifier ready', env: (id: string) => ({ ALERTS_TOPIC: `${id}-alerts`, ALERTS_TOPIC_PARTITIONS: '1', OUTBOX_GROUP: `${id}-outbox` }) },
] as const;
for (const svc of otherServices) {
  describe(`the ${svc.name} process on secured connections`, () => {
    const env = () => {
      const id = uniqueId(svc.name);
      return { ...securedEnv(id), ...svc.env(id) };
    };

    it('starts over SCRAM-SHA-512 and a TLS Redis with a password, logging no secret, and stops cleanly', async () => {
      const proc = spawnService(svc.name, env());
      try {
        await waitFor(() => proc.lines.some((l) => l.includes(svc.ready)) || proc.child.exitCode !== null, { timeoutMs: 60_000, what: `the ${svc.name} to start` });
        expect(proc.child.exitCode, proc.lines.join('\n')).toBeNull();
      } finally {
        proc.child.kill('SIGTERM');
        expect(await proc.exited).toBe(0);
      }
      const output = proc.lines.join('\n');
      // Redis closes after Kafka, both after what uses them.
      // By each line's time: the last lines of an exiting process may reach the pipe out of order.
      const closed = proc.lines.filter((l) => l.includes('"msg":"closed"')).map((l) => JSON.parse(l) as { step: string; time: string });
      const at = (step: string) => Date.parse(closed.find((c) => c.step === step)?.time ?? 'NaN');
      expect(closed.map((c) => c.step)).toEqual(expect.arrayContaining(['kafka', 'redis']));
      for (const c of closed) expect(at('redis'), `redis closed before ${c.step}`).toBeGreaterThanOrEqual(Date.parse(c.time));
      expect(at('kafka')).toBeLessThanOrEqual(at('redis'));
      for (const secret of ['alice-Pa55word', REDIS_PASSWORD]) expect(output).not.toContain(secret);
    });

    it('stops at start on a wrong Redis password, with one line naming the connection, no stack trace and no secret', async () => {
      await expectStartFailure(spawnService(svc.name, { ...env(), REDIS_PASSWORD: 'wrong-Redis-pw' }), new RegExp(`^${svc.name} failed to start: Redis \\(rediss://127\\.0\\.0\\.1:\\d+\\): authentication failed`, 'm'));
    });

    it('stops at start on a wrong SCRAM password, with one line naming the connection, no stack trace and no secret', async () => {
      await expectStartFailure(spawnService(svc.name, { ...env(), KAFKA_SASL_PASSWORD: 'wrong-Kafka-pw' }), new RegExp(`^${svc.name} failed to start: Kafka \\(127\\.0\\.0\\.1:\\d+, plaintext, SASL scram-sha-512 as alice\\): authentication failed`, 'm'));
    });
  });
}

describe('pnpm dlq:replay on a secured broker', () => {
  const repoRoot = new URL('../../', import.meta.url).pathname;
  const replay = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(process.execPath, ['--conditions=flopwatch-source', '--import', 'tsx', 'scripts/dlq-replay.ts', ...args], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'silent', ...env } }, (error, out, err) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, out, err });
      });
    });

  it('re-publishes dead letters read over SCRAM-SHA-256, and refuses a wrong password with one line and no secret', async () => {
    const id = uniqueId('replay');
    const [dlq, source] = [`${id}-dlq`, `${id}-source`];
    const plain = createKafkaClient({ brokers: [kafka.plaintext], clientId: uniqueId('setup'), logger: silent });
    const values = ['{"id":"e-1"}', '{"id":"e-2"}'];
    try {
      await ensureTopics(plain, [{ topic: dlq, partitions: 1 }, { topic: source, partitions: 1 }]);
      const producer = createProducer(plain, { idempotent: true });
      await producer.connect();
      await producer.send(dlq, values.map((value, i) => ({
        key: `tenant-${i}`,
        value,
        headers: { [DLQ_HEADERS.reason]: 'unknown_accelerator', [DLQ_HEADERS.message]: 'test', [DLQ_HEADERS.topic]: source, [DLQ_HEADERS.partition]: '0', [DLQ_HEADERS.offset]: String(i) },
      })));

      const sasl = { KAFKA_BROKERS: kafka.sasl, KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'alice' };
      const refused = await replay(['--reason', 'unknown_accelerator', '--topic', dlq], { ...sasl, KAFKA_SASL_PASSWORD: 'wrong-Kafka-pw' });
      expect(refused.code, refused.out + refused.err).toBe(1);
      expect(refused.err).toMatch(/^dlq:replay failed: KAFKA_AUTH: Kafka \(127\.0\.0\.1:\d+, plaintext, SASL scram-sha-256 as alice\): authentication failed/m);
      expect(refused.out + refused.err).not.toContain('wrong-Kafka-pw');
      expect(await readAll(plain, source)).toEqual([]);

      const done = await replay(['--reason', 'unknown_accelerator', '--topic', dlq], { ...sasl, KAFKA_SASL_PASSWORD: 'alice-Pa55word' });
      expect(done.code, done.out + done.err).toBe(0);
      expect(done.out).toContain('selected 2, re-published 2');
      expect((await readAll(plain, source)).map((m) => [m.key, m.value])).toEqual(values.map((v, i) => [`tenant-${i}`, v]));
      expect(done.out + done.err).not.toContain('alice-Pa55word');
    } finally {
      await plain.close();
    }
  }, 120_000);
});
