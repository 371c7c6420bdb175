// Tamper evidence against someone with Redis access: HMACs with a key kept outside Redis, the floor
// retention trimmed to, and the copy of every sealed entry in the audit topic. Each tampering is
// done to the real Redis (or the real topic) and must be named by GET /v1/audit/verify.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigResourceTypes } from 'kafkajs';
import { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import { dropPrefix, freshPrefix, kafkaBrokers, testKafka, testRedis, uniqueId, waitFor } from '@flopwatch/test-harness';
import { consumerLag, createKafkaClient, createProducer, ensureTopics, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { chainHash, createKeys, createStore, entryMac, parseAuditKeys, type AuditKeyring, type Keys, type Store } from '@flopwatch/store';
import { parseApiKeys, hashKey, type Role } from '../src/auth.js';
import { buildApp, type App } from '../src/app.js';
import { auditMessage, auditTopicReader, ensureAuditTopic, publishAuditOutbox } from '../src/audit-topic.js';
import { rebuildAuditExport } from '../src/audit-rebuild.js';
import { apiConfigSchema } from '../src/config.js';
import { ACTOR, auth, defaultPack, KEYS, silent, tenant } from './helpers.js';

const secret = () => `hex:${randomBytes(32).toString('hex')}`;

interface Setup {
  app: App;
  store: Store;
  redis: Redis;
  keys: Keys;
  kafka: KafkaClient;
  producer: KafkaProducer;
  topic: string;
  keyring: AuditKeyring;
  keySpec: string;
  close(): Promise<void>;
}

let open: Setup | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** The API with keyed sealing and publication to a fresh audit topic; sealing is driven by the test unless `sealing` is given. */
async function setup(opts: { sealing?: { intervalMs: number }; retentionDays?: number; readTopic?: string; maxMessageBytes?: number } = {}): Promise<Setup> {
  const redis = testRedis();
  const prefix = freshPrefix('audit');
  const keys = createKeys(prefix);
  const keySpec = `k1:${secret()}`;
  const keyring = parseAuditKeys(keySpec)!;
  const topic = uniqueId('compliance.audit');
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('api'), logger: silent });
  // A topic created beforehand (here with a small max.message.bytes) is left as it is.
  if (opts.maxMessageBytes) await ensureTopics(kafka, [{ topic, partitions: 1, configs: { 'max.message.bytes': String(opts.maxMessageBytes) } }]);
  await ensureAuditTopic(kafka, topic, apiConfigSchema.parse({}).AUDIT_TOPIC_RETENTION);
  const producer = createProducer(kafka, { idempotent: true, log: silent });
  const store = createStore({ redis, prefix, auditKeyring: keyring, auditPublish: true, ...(opts.retentionDays ? { auditRetentionDays: opts.retentionDays } : {}) });
  const app = await buildApp({
    store, pack: defaultPack(), producer, telemetryTopic: topic, log: silent, metricsRegistry: new Registry(), readyCacheMs: 0,
    apiKeys: parseApiKeys((Object.keys(KEYS) as Role[]).map((r) => `${r}:${ACTOR[r]}:${hashKey(KEYS[r])}${r === 'ingest' ? ' cluster=*' : ''}`).join(',')),
    checks: { redis: async () => void (await redis.ping()), kafka: async () => void (await consumerLag(kafka, 'readiness', [topic])) },
    auditTopic: { topic, producer, read: auditTopicReader(kafka, opts.readTopic ?? topic, silent) },
    auditSealing: opts.sealing ?? false,
  });
  return {
    app, store, redis, keys, kafka, producer, topic, keyring, keySpec,
    close: async () => {
      await app.close();
      await producer.close();
      await kafka.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/** `n` entries appended, sealed and published; returns their seqs 1..n. */
async function write(s: Setup, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) await s.store.audit.append({ actor: 'alice', action: 'case.comment', object: `case:c${i}`, before: null, after: { text: `note ${i}` } });
  await s.store.audit.seal();
  await publishAuditOutbox(s.store.audit, s.producer, s.topic);
}

const verify = async (s: Setup) => (await s.app.inject({ url: '/v1/audit/verify', headers: auth('analyst') })).json();

/** The log's entries as stored: [stream id, field map]. */
async function logEntries(s: Setup): Promise<[string, Map<string, string>][]> {
  const rows = await s.redis.xrange(s.keys.audit.log, '-', '+');
  return rows.map(([id, flat]) => {
    const f = new Map<string, string>();
    for (let i = 0; i < flat.length; i += 2) f.set(flat[i]!, flat[i + 1]!);
    return [id, f];
  });
}

/** Replaces the whole log with `entries` (same ids) and points the head at its last: what someone with Redis access can do. */
async function replaceLog(s: Setup, entries: [string, Map<string, string>][]): Promise<void> {
  await s.redis.del(s.keys.audit.log);
  for (const [id, f] of entries) await s.redis.xadd(s.keys.audit.log, id, ...[...f].flat());
  const last = entries.at(-1)![1];
  await s.redis.set(s.keys.audit.head, `${last.get('seq')} ${last.get('hash')}`);
}

/** Entries from `fromSeq` on rewritten by `edit` and re-chained (seq, prev, hash recomputed) without the key: `mac` decides their MAC fields. */
function rechain(entries: [string, Map<string, string>][], fromSeq: number, edit: (f: Map<string, string>) => void, mac: (f: Map<string, string>) => void) {
  let prev = '';
  return entries.map(([id, original]) => {
    const f = new Map(original);
    const seq = Number(f.get('seq'));
    if (seq >= fromSeq) {
      if (seq === fromSeq) edit(f);
      else f.set('prev', prev);
      const hash = chainHash(f.get('prev')!, { seq, at: f.get('at')!, actor: f.get('actor')!, action: f.get('action')!, object: f.get('object')!, data: f.get('data')! });
      f.set('hash', hash);
      mac(f);
    }
    prev = f.get('hash')!;
    return [id, f] as [string, Map<string, string>];
  });
}

describe('the audit chain against someone with Redis access', () => {
  it('seals each entry with the active key id and its HMAC, publishes it keyed by seq, and verifies against the copy in the topic', async () => {
    const s = (open = await setup());
    await write(s, 6);
    const entries = (await s.app.inject({ url: '/v1/audit', headers: auth('analyst') })).json().entries as { seq: number; hash: string; kid: string; mac: string }[];
    expect(entries).toHaveLength(6);
    for (const e of entries) expect(e).toMatchObject({ kid: 'k1', mac: entryMac(s.keyring.keys.get('k1')!, 'k1', e.hash) });
    expect(await verify(s)).toMatchObject({ ok: true, checked: 6, firstSeq: 1, lastSeq: 6, broken: null, keyed: true, unkeyed: 0, findings: [], copy: { read: 6, firstSeq: 1, lastSeq: 6, unpublished: 0 } });
    // The topic: one partition, the retention configured (five years by default), one message per entry keyed by its seq.
    const admin = testKafka().admin();
    await admin.connect();
    const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: s.topic, configNames: ['retention.ms'] }] });
    const offsets = await admin.fetchTopicOffsets(s.topic);
    await admin.disconnect();
    expect(resources[0]!.configEntries[0]!.configValue).toBe(String(1826 * 86_400_000));
    expect(offsets).toEqual([expect.objectContaining({ partition: 0, high: '6' })]);
  });

  it('names the oldest entries deleted: without a floor, and past the floor retention recorded; and a floor forged without the key', async () => {
    const s = (open = await setup());
    await write(s, 8);
    const entries = await logEntries(s);
    await s.redis.xdel(s.keys.audit.log, ...entries.slice(0, 3).map(([id]) => id));
    const v = await verify(s);
    expect(v).toMatchObject({ ok: false, broken: { seq: 4, reason: 'oldest_deleted' }, floor: null });
    expect(v.findings).toEqual([expect.objectContaining({ kind: 'deleted', where: 'redis', fromSeq: 1, toSeq: 3 })]);
    // The same without the copy in Kafka: the floor check alone names it.
    expect(await s.store.audit.verify({})).toMatchObject({ ok: false, broken: { seq: 4, reason: 'oldest_deleted' } });
    // A floor claiming retention trimmed up to seq 3, written without the key.
    const third = entries[2]![1];
    await s.redis.set(s.keys.audit.floor, `3 ${third.get('hash')} k1 ${'0'.repeat(64)}`);
    expect(await verify(s)).toMatchObject({ ok: false, broken: { reason: 'floor_mac_mismatch' } });
  });

  it('records the floor it trims to and verifies what it keeps; deleting past it is named', async () => {
    // Retention of 300 ms: entries written before a pause are trimmed when the next are sealed.
    const s = (open = await setup({ retentionDays: 300 / 86_400_000 }));
    await write(s, 4);
    await new Promise((r) => setTimeout(r, 400));
    await write(s, 4, 4);
    expect((await logEntries(s)).map(([, f]) => Number(f.get('seq')))).toEqual([5, 6, 7, 8]);
    const v = await verify(s);
    expect(v).toMatchObject({ ok: true, floor: { seq: 4 }, firstSeq: 5, lastSeq: 8, checked: 4, findings: [], copy: { read: 8, firstSeq: 1, lastSeq: 8 } });
    const [fifth, sixth] = await logEntries(s);
    await s.redis.xdel(s.keys.audit.log, fifth![0], sixth![0]);
    const after = await verify(s);
    expect(after).toMatchObject({ ok: false, broken: { seq: 7, reason: 'oldest_deleted' } });
    expect(after.findings).toEqual([expect.objectContaining({ kind: 'deleted', where: 'redis', fromSeq: 5, toSeq: 6 })]);
  });

  it('names the newest entries cut with the head rewritten, which the chain in Redis alone cannot show', async () => {
    const s = (open = await setup());
    await write(s, 10);
    const entries = await logEntries(s);
    await replaceLog(s, entries.slice(0, 7));
    // Consistent in Redis: the head names the new last entry.
    expect(await s.store.audit.verify({})).toMatchObject({ ok: true, lastSeq: 7 });
    const v = await verify(s);
    expect(v).toMatchObject({ ok: false, broken: null, lastSeq: 7 });
    expect(v.findings).toEqual([expect.objectContaining({ kind: 'truncated', where: 'redis', fromSeq: 8, toSeq: 10 })]);
  });

  it('names a chain recomputed without the key: with the old MACs, with MACs of another key, and with the MACs removed', async () => {
    const s = (open = await setup());
    await write(s, 8);
    const entries = await logEntries(s);
    const forgeActor = (f: Map<string, string>) => f.set('actor', 'mallory');
    const attackerKey = randomBytes(32);
    const variants: [string, (f: Map<string, string>) => void][] = [
      ['mac_mismatch', () => {}],
      ['mac_mismatch', (f) => f.set('mac', entryMac(attackerKey, 'k1', f.get('hash')!))],
      ['mac_missing', (f) => { f.delete('kid'); f.delete('mac'); }],
    ];
    for (const [reason, mac] of variants) {
      await replaceLog(s, rechain(entries, 4, forgeActor, mac));
      expect(await s.store.audit.verify({})).toMatchObject({ ok: false, broken: { seq: 4, reason } });
      const v = await verify(s);
      expect(v).toMatchObject({ ok: false, broken: { seq: 4, reason } });
      expect(v.findings).toEqual([expect.objectContaining({ kind: 'rewritten', where: 'redis', fromSeq: 4, toSeq: 8 })]);
    }
  });

  it('names an entry forged in the topic and a topic whose records were deleted', async () => {
    const s = (open = await setup());
    await write(s, 5);
    const [, second] = (await logEntries(s))[1]!;
    const forged = rechain([[(await logEntries(s))[1]![0], second]], 2, (f) => f.set('actor', 'mallory'), (f) => f.set('mac', '0'.repeat(64)))[0]![1];
    const fields = Object.fromEntries(forged) as Record<string, string>;
    await s.producer.send(s.topic, [auditMessage({ id: (await logEntries(s))[1]![0], seq: 2, at: fields.at!, actor: fields.actor!, action: fields.action!, object: fields.object!, data: fields.data!, prev: fields.prev!, hash: fields.hash!, kid: fields.kid!, mac: fields.mac! })]);
    const v = await verify(s);
    expect(v).toMatchObject({ ok: false, broken: null });
    expect(v.findings).toEqual([expect.objectContaining({ kind: 'rewritten', where: 'kafka', fromSeq: 2, toSeq: 2 })]);
    const admin = testKafka().admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [s.topic] });
    await admin.deleteTopicRecords({ topic: s.topic, partitions: [{ partition: 0, offset: '-1' }] });
    await admin.disconnect();
    const gone = await verify(s);
    expect(gone).toMatchObject({ ok: false, broken: null, copy: { read: 0 } });
    expect(gone.findings).toEqual([expect.objectContaining({ kind: 'deleted', where: 'kafka', fromSeq: 1, toSeq: 5 })]);
  });

  it('after a flush of Redis, rebuilds the audit export from the topic alone, equal to the export taken before, and it verifies', async () => {
    const s = (open = await setup({ sealing: { intervalMs: 50 } }));
    for (let i = 0; i < 12; i++) expect((await s.app.inject({ method: 'PUT', url: `/v1/tenants/t${i}`, headers: auth('admin'), payload: tenant(`t${i}`) })).statusCode).toBe(200);
    await waitFor(async () => (await s.store.audit.unsealedCount()) === 0 && (await s.store.audit.unpublishedCount()) === 0, { what: 'the sealer to seal and publish', timeoutMs: 15_000 });
    expect(await verify(s)).toMatchObject({ ok: true, checked: 12, findings: [], copy: { read: 12, unpublished: 0 } });
    const ndjson = (await s.app.inject({ url: '/v1/audit/export', headers: auth('analyst') })).body;
    const csv = (await s.app.inject({ url: '/v1/audit/export?format=csv', headers: auth('analyst') })).body;
    expect(ndjson.trim().split('\n')).toHaveLength(12);

    await dropPrefix(s.redis, s.keys.prefix);
    const lost = await verify(s);
    expect(lost).toMatchObject({ ok: false, checked: 0 });
    expect(lost.findings).toEqual([expect.objectContaining({ kind: 'truncated', where: 'redis', fromSeq: 1, toSeq: 12 })]);

    for (const [format, expected] of [['ndjson', ndjson], ['csv', csv]] as const) {
      let out = '';
      const result = await rebuildAuditExport({ kafka: s.kafka, topic: s.topic, keyring: s.keyring, format, write: (chunk) => void (out += chunk) });
      expect(result).toMatchObject({ ok: true, entries: 12, firstSeq: 1, lastSeq: 12, broken: null, conflicts: [], keyed: true, unkeyed: 0, fromGenesis: true });
      expect(out).toBe(expected);
    }

    // The command, as an operator runs it, with the API's environment.
    const dir = mkdtempSync(join(tmpdir(), 'audit-rebuild-'));
    const file = join(dir, 'audit.ndjson');
    const root = new URL('../../../', import.meta.url).pathname;
    const run = await promisify(execFile)('pnpm', ['--silent', 'audit:rebuild', '--out', file], {
      cwd: root, env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(','), AUDIT_TOPIC: s.topic, AUDIT_HMAC_KEYS: s.keySpec, LOG_LEVEL: 'silent' },
    });
    expect(JSON.parse(run.stderr.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, entries: 12, topic: s.topic });
    expect(readFileSync(file, 'utf8')).toBe(ndjson);
    // Without the key that sealed them, the rebuilt chain does not verify.
    const unkeyed = await rebuildAuditExport({ kafka: s.kafka, topic: s.topic, keyring: parseAuditKeys(`k2:${secret()}`), format: 'ndjson', write: () => {} });
    expect(unkeyed).toMatchObject({ ok: false, entries: 12, broken: { seq: 1, reason: 'unknown_key' } });
  }, 60_000);

  it('answers 503 when the topic cannot be read, and checks Redis alone with copy=false', async () => {
    const s = (open = await setup({ readTopic: uniqueId('missing') }));
    await write(s, 2);
    const res = await s.app.inject({ url: '/v1/audit/verify', headers: auth('analyst') });
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatchObject({ code: 'UNAVAILABLE', details: { retryable: true } });
    expect((await s.app.inject({ url: '/v1/audit/verify?copy=false', headers: auth('analyst') })).json()).toMatchObject({ ok: true, checked: 2, copy: null, findings: [] });
  });

  it('publishes the entries the topic accepts and keeps one too large for it in the outbox, counted as unpublished', async () => {
    const s = (open = await setup({ maxMessageBytes: 4096 }));
    await s.store.audit.append({ actor: 'alice', action: 'case.comment', object: 'case:small-1', before: null, after: null });
    await s.store.audit.append({ actor: 'alice', action: 'case.comment', object: 'case:large', before: null, after: { text: 'x'.repeat(8192) } });
    await s.store.audit.append({ actor: 'alice', action: 'case.comment', object: 'case:small-2', before: null, after: null });
    await s.store.audit.seal();
    await expect(publishAuditOutbox(s.store.audit, s.producer, s.topic)).rejects.toMatchObject({ code: 'KAFKA_RECORD_TOO_LARGE', retryable: false });
    const left = await s.store.audit.unpublished();
    expect(left.map((r) => r.entry.seq)).toEqual([2]);
    expect(await verify(s)).toMatchObject({ ok: true, checked: 3, findings: [], copy: { read: 2, firstSeq: 1, lastSeq: 3, unpublished: 1 } });
  });

  it('verifies entries sealed with an older key after a rotation, and names them when that key is removed', async () => {
    const s = (open = await setup());
    await write(s, 3);
    const k2 = `k2:${secret()}`;
    await s.store.audit.releaseLease(); // the replica restarted with the new key takes over sealing
    const rotated = createStore({ redis: s.redis, prefix: s.keys.prefix, auditKeyring: parseAuditKeys(`${s.keySpec},${k2}`), auditPublish: true });
    for (let i = 0; i < 3; i++) await rotated.audit.append({ actor: 'alice', action: 'case.comment', object: `case:r${i}`, before: null, after: null });
    await rotated.audit.seal();
    await publishAuditOutbox(rotated.audit, s.producer, s.topic);
    expect((await logEntries(s)).map(([, f]) => f.get('kid'))).toEqual(['k1', 'k1', 'k1', 'k2', 'k2', 'k2']);
    expect(await rotated.audit.verify({ copy: auditTopicReader(s.kafka, s.topic) })).toMatchObject({ ok: true, checked: 6, findings: [] });
    const withoutK1 = createStore({ redis: s.redis, prefix: s.keys.prefix, auditKeyring: parseAuditKeys(k2) });
    expect(await withoutK1.audit.verify({})).toMatchObject({ ok: false, broken: { seq: 1, reason: 'unknown_key' } });
  });
});
