// Signed compute statements end to end: telemetry through real Kafka and the real ingest into Redis,
// a statement issued by the API, verified offline and refused once edited, then reproduced from the
// topic by `pnpm statement:reproduce`. Every expected figure is this file's own arithmetic over the
// events it sent.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerLag, createKafkaClient } from '@flopwatch/kafka';
import { createMetricsRegistry } from '@flopwatch/runtime';
import type { UsageEvent } from '@flopwatch/contracts';
import { dropPrefix, kafkaBrokers, redisUrl, testRedis, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import { buildApp, type App } from '../../services/api/src/app.js';
import { hashKey, parseApiKeys } from '../../services/api/src/auth.js';
import { createStatementSigner } from '../../services/api/src/statements/signing.js';
import { caughtUp, defaultPack, encode, silent, startIngest, testProducer, testStore, testTopics, type TestIngest, type Topics } from '../../services/ingest/test/helpers.js';

const root = new URL('../../', import.meta.url).pathname;
const DAY = 86_400_000;
const MILLI = 1000;

/** What the test sends, and what it knows about it (tier and control from the pack's lists and 3A090). */
interface Sent {
  tenant: string;
  job: string;
  startMs: number;
  seconds: number;
  gpus: number;
  model: string;
  country: string;
  tier: string;
  controlled: boolean;
  tier1Controlled: boolean;
  /** The measured figure the event carries, in tera-operations. */
  tera: number;
  node?: string;
}

const event = (s: Sent): UsageEvent => {
  const e = usageEvent({ tenantId: s.tenant, jobId: s.job, startMs: s.startMs, seconds: s.seconds, gpus: s.gpus, model: s.model, country: s.country, ...(s.node ? { node: s.node } : {}) }) as UsageEvent;
  return { ...e, data: { ...e.data, operations: s.tera * 1e12 } };
};

function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/tsx'), ['--conditions=flopwatch-source', join(root, 'scripts', script), ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('signed compute statements', () => {
  const tenant = uniqueId('acme');
  const other = uniqueId('other');
  // Two whole UTC days, the later one three days before today, and a day before them.
  const dayA = Math.floor(Date.now() / DAY) * DAY - 4 * DAY;
  const dayB = dayA + DAY;
  const before = dayA - DAY;
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const H100 = 'nvidia-h100-sxm5-80gb';
  const T4 = 'nvidia-tesla-t4';
  const inPeriod: Sent[] = [
    { tenant, job: 'j1', startMs: dayA + 3_600_000, seconds: 60, gpus: 8, model: H100, country: 'US', tier: '1', controlled: true, tier1Controlled: true, tera: 600_000 },
    { tenant, job: 'j2', startMs: dayA + 7_200_000, seconds: 60, gpus: 4, model: H100, country: 'IN', tier: '2', controlled: true, tier1Controlled: false, tera: 240_000 },
    { tenant, job: 'j3', startMs: dayB + 3_600_000, seconds: 60, gpus: 2, model: T4, country: 'US', tier: '1', controlled: false, tier1Controlled: false, tera: 12_000 },
    { tenant, job: 'j4', startMs: dayB + 10_800_000, seconds: 120, gpus: 8, model: H100, country: 'US', tier: '1', controlled: true, tier1Controlled: true, tera: 1_200_000 },
  ];
  const earlier: Sent = { tenant, job: 'j0', startMs: before + 3_600_000, seconds: 60, gpus: 8, model: H100, country: 'US', tier: '1', controlled: true, tier1Controlled: true, tera: 50_000 };
  const noise: Sent = { tenant: other, job: 'n1', startMs: dayA + 3_600_000, seconds: 60, gpus: 8, model: H100, country: 'US', tier: '1', controlled: true, tier1Controlled: true, tera: 70_000 };
  const mine = [...inPeriod, earlier];
  // Job j1 was reported whole; a report of one of its nodes would count its time twice: the books refuse it (mixed_granularity).
  const refusedReport: Sent = { ...inPeriod[0]!, node: 'node-1', startMs: inPeriod[0]!.startMs + 60_000, gpus: 2 };

  let topics: Topics;
  let groupId: string;
  let ingest: TestIngest;
  let env: ReturnType<typeof testStore>;
  let app: App;
  let apiProducer: Awaited<ReturnType<typeof testProducer>> | undefined;
  let dir: string;
  const lagClient = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('lag'), logger: silent });
  const { privateKey } = generateKeyPairSync('ed25519');
  const signer = createStatementSigner({ privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), keyId: 'test-key-1' });
  const send = async (sent: Sent[], duplicateFirst = false) => {
    const p = await testProducer();
    const events = sent.map(event);
    await p.producer.send(topics.telemetry, encode(duplicateFirst ? [...events, events[0]!] : events));
    await p.close();
    await waitFor(() => caughtUp(groupId, topics), { timeoutMs: 60_000, what: 'the ingest to count the telemetry' });
  };

  beforeAll(async () => {
    topics = await testTopics();
    groupId = uniqueId('ingest');
    env = testStore();
    ingest = await startIngest({ topics, groupId, store: env.store });
    // The first event of the tenant is sent twice: its second copy is covered time (a duplicate).
    await send([...mine, noise, refusedReport], true);
    const pack = defaultPack();
    apiProducer = await testProducer();
    app = await buildApp({
      store: env.store, pack, producer: apiProducer.producer, telemetryTopic: topics.telemetry,
      apiKeys: parseApiKeys(`analyst:alice:${hashKey('k-analyst')},viewer:grafana:${hashKey('k-viewer')}`),
      log: silent, metricsRegistry: createMetricsRegistry({ service: 'api', collectDefault: false }), auditSealing: false,
      checks: { redis: async () => {}, kafka: async () => {} },
      statements: {
        signer,
        telemetry: async () => ({
          topic: topics.telemetry, consumerGroup: groupId,
          partitions: (await consumerLag(lagClient, groupId, [topics.telemetry])).map((x) => ({ partition: x.partition, end: x.high, committed: x.committed })),
        }),
      },
    });
    dir = mkdtempSync(join(tmpdir(), 'statements-'));
  });

  afterAll(async () => {
    await app?.close();
    await apiProducer?.close();
    await ingest?.close();
    await lagClient.close();
    if (env) {
      await dropPrefix(env.redis, env.prefix);
      env.redis.disconnect();
    }
  });

  /** The statement's figures as this test computes them from what it sent. */
  function expected() {
    const sum = (list: Sent[], f: (s: Sent) => boolean) => list.filter(f).reduce((a, s) => a + s.tera, 0);
    const measures = (list: Sent[]) => ({ all: sum(list, () => true), controlled: sum(list, (s) => s.controlled), controlledTier1: sum(list, (s) => s.tier1Controlled) });
    const by = (key: (s: Sent) => string) => {
      const out: Record<string, number> = {};
      for (const s of mine) out[key(s)] = (out[key(s)] ?? 0) + s.tera;
      return out;
    };
    const gpuUs = (s: Sent) => s.gpus * MILLI * s.seconds * 1000;
    const refused = { reports: { mixed_granularity: 1 }, gpuMicroseconds: { mixed_granularity: gpuUs(refusedReport) } };
    return {
      period: { refused, teraOperations: measures(inPeriod), byDay: [dayA, dayB].map((d) => ({ day: iso(d), ...measures(inPeriod.filter((s) => Math.floor((s.startMs + s.seconds * 1000) / DAY) * DAY === d)) })) },
      cumulative: {
        teraOperations: measures(mine),
        byTier: by((s) => s.tier), byCountry: by((s) => s.country), byAccelerator: by((s) => s.model),
        gpuMicroseconds: mine.reduce((a, s) => a + gpuUs(s), 0),
        duplicateGpuMicroseconds: gpuUs(mine[0]!),
        refused,
      },
    };
  }

  interface Issued {
    statement: {
      id: string;
      subject: unknown;
      policyVersion: string;
      books: { latestUsageAt: string | null };
      telemetry: { partitions: { end: string; committed: string | null }[] };
      figures: {
        period: unknown;
        cumulative: { teraOperations: object; byTier: object; byCountry: object; byAccelerator: object; gpuMicroseconds: number; gpuHours: number; coveredGpuMicroseconds: { duplicate: number }; refused: unknown };
      };
    };
    signature: { keyId: string };
  }

  async function issue(): Promise<Issued> {
    const res = await app.inject({ method: 'POST', url: '/v1/statements', headers: { authorization: 'Bearer k-analyst' }, payload: { scope: 'tenant', id: tenant, from: iso(dayA), to: iso(dayB) } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  it('issues a statement whose figures are the telemetry sent, verified offline, and refused once one figure is edited', async () => {
    const signed = await issue();
    const want = expected();
    const { figures } = signed.statement;
    expect(figures.period).toEqual(want.period);
    expect(figures.cumulative.teraOperations).toMatchObject(want.cumulative.teraOperations);
    expect(figures.cumulative.byTier).toEqual(want.cumulative.byTier);
    expect(figures.cumulative.byCountry).toEqual(want.cumulative.byCountry);
    expect(figures.cumulative.byAccelerator).toEqual(want.cumulative.byAccelerator);
    expect(figures.cumulative.gpuMicroseconds).toBe(want.cumulative.gpuMicroseconds);
    expect(figures.cumulative.gpuHours).toBe(want.cumulative.gpuMicroseconds / 3.6e9);
    expect(figures.cumulative.coveredGpuMicroseconds.duplicate).toBe(want.cumulative.duplicateGpuMicroseconds);
    expect(figures.cumulative.refused).toEqual(want.cumulative.refused);
    const lastEnd = Math.max(...mine.map((s) => s.startMs + s.seconds * 1000));
    expect(signed.statement.books.latestUsageAt).toBe(new Date(lastEnd).toISOString());
    expect(signed.statement.subject).toEqual({ kind: 'tenant', id: tenant, tenants: [tenant] });
    expect(signed.statement.policyVersion).toBe(defaultPack().version);
    expect(signed.signature.keyId).toBe('test-key-1');
    // The topic's position: every message sent (the tenant's, its duplicate, the refused one, the other tenant's), all committed.
    const ends = signed.statement.telemetry.partitions;
    expect(ends.reduce((a, p) => a + Number(p.end), 0)).toBe(mine.length + 3);
    expect(ends.every((p) => p.committed === p.end || (p.committed === null && p.end === '0'))).toBe(true);

    const keys = await app.inject({ method: 'GET', url: '/v1/statements/keys' });
    expect(keys.statusCode).toBe(200);
    writeFileSync(join(dir, 'statement-keys.json'), keys.body);
    const file = join(dir, 'statement.json');
    writeFileSync(file, JSON.stringify(signed, null, 2));
    const good = await run('statement-verify.ts', [file]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain(`verified: statement ${signed.statement.id}`);

    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.statement.figures.cumulative.teraOperations.controlledTier1 += 1;
    const editedFile = join(dir, 'edited.json');
    writeFileSync(editedFile, JSON.stringify(edited));
    const bad = await run('statement-verify.ts', [editedFile, '--keys', join(dir, 'statement-keys.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('REFUSED: the signature does not match the statement');

    // Another key's file cannot vouch for it either.
    const { publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, 'other-keys.json'), JSON.stringify({ keys: [{ keyId: 'test-key-1', algorithm: 'Ed25519', publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), current: true }] }));
    const foreign = await run('statement-verify.ts', [file, '--keys', join(dir, 'other-keys.json')]);
    expect(foreign.code).toBe(1);
  });

  it('reproduces a statement from the telemetry topic into a scratch prefix, and names a figure that differs', async () => {
    const signed = await issue();
    const file = join(dir, 'to-reproduce.json');
    writeFileSync(file, JSON.stringify(signed));
    // Telemetry that arrives after the statement is beyond its recorded offsets: not part of it.
    await send([{ tenant, job: 'late', startMs: dayB + 20 * 3_600_000, seconds: 60, gpus: 8, model: H100, country: 'US', tier: '1', controlled: true, tier1Controlled: true, tera: 30_000 }]);
    const envVars = { KAFKA_BROKERS: kafkaBrokers().join(','), REDIS_URL: redisUrl(), LOG_LEVEL: 'silent' };
    const same = await run('statement-reproduce.ts', [file], envVars);
    expect(same.code, same.stdout + same.stderr).toBe(0);
    expect(same.stdout).toMatch(/reproduced: all \d+ figures equal/);
    expect(same.stdout).toContain(`read ${mine.length + 3} messages; dead-lettered in the reproduction: mixed_granularity 1`);
    const scratch = /scratch prefix (\S+)/.exec(same.stdout)![1]!;
    const redis = testRedis();
    try {
      const [, left] = await redis.scan('0', 'MATCH', `${scratch}*`, 'COUNT', 100_000);
      expect(left).toEqual([]);
    } finally {
      redis.disconnect();
    }

    const edited = JSON.parse(readFileSync(file, 'utf8'));
    const all = edited.statement.figures.period.teraOperations.all as number;
    edited.statement.figures.period.teraOperations.all = all + 1;
    const editedFile = join(dir, 'edited-to-reproduce.json');
    writeFileSync(editedFile, JSON.stringify(edited));
    const differs = await run('statement-reproduce.ts', [editedFile], envVars);
    expect(differs.code).toBe(1);
    expect(differs.stdout).toContain(`DIFFERENT figures.period.teraOperations.all: statement ${all + 1}, reproduced ${all}`);
    expect(differs.stdout).toContain('1 of');
  });
});
