import { describe, expect, it } from 'vitest';
import { testKafka, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import { slurmRecordToUsageEvents, type Alert, type UsageEvent } from '@flopwatch/contracts';
import { DLQ_HEADERS } from '../src/app.js';
import { SLURM, T0, caughtUp, defaultPack, encode, stream, groundTruth, startIngest, storedTotals, testProducer, testTopics, ingestTestEnv } from './helpers.js';

const HOUR = 3_600_000;
const pack = defaultPack();

const { running, cleanups, env } = ingestTestEnv();

async function expectTotals(store: ReturnType<typeof env>['store'], events: UsageEvent[]) {
  const truth = groundTruth(events, pack);
  await waitFor(async () => {
    const got = await storedTotals(store, truth.keys());
    return [...truth].every(([t, v]) => got.get(t) === v);
  }, { what: 'totals to reach the ground truth' });
  expect(await storedTotals(store, truth.keys())).toEqual(truth);
}

describe('ingest', () => {
  it('counts a stream once, and leaves every total unchanged when the events are sent again and when a new group replays the topic', async () => {
    const topics = await testTopics();
    const { store } = env();
    const events = stream(4, 2, 10);
    const { producer, close } = await testProducer();
    cleanups.push(close);
    await producer.send(topics.telemetry, encode(events));
    const groupId = uniqueId('group');
    running.push(await startIngest({ topics, groupId, store }));
    await expectTotals(store, events);

    await producer.send(topics.telemetry, encode(events)); // the producer's retry storm
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect(await storedTotals(store, groundTruth(events, pack).keys())).toEqual(groundTruth(events, pack));

    while (running.length) await running.pop()!.close();
    // A new group has no committed offsets and reads from the earliest: every message is applied
    // again, and covered time alone keeps it from counting twice.
    const replayGroup = uniqueId('replay');
    running.push(await startIngest({ topics, groupId: replayGroup, store }));
    await waitFor(() => caughtUp(replayGroup, topics), { what: 'the replay to finish' });
    expect(await storedTotals(store, groundTruth(events, pack).keys())).toEqual(groundTruth(events, pack));
  });

  it('dead-letters each poison message with its reason and source, and counts the valid events around it', async () => {
    const topics = await testTopics();
    const { store } = env();
    const valid = stream(2, 1, 3);
    const good = (e: UsageEvent) => JSON.parse(JSON.stringify(e));
    const poison: [string, string | Buffer][] = [
      ['not_json', '{"specversion": "1.0", '],
      ['schema_violation', JSON.stringify({ ...good(valid[0]!), data: { ...good(valid[0]!).data, accelerator: { model: 'nvidia-h100-sxm5-80gb', count: 'eight' } } })],
      ['not_json', '{"specversion":"1.0","data":{"accelerator":{"count":NaN}}}'],
      ['schema_violation', JSON.stringify({ ...good(valid[0]!), data: { ...good(valid[0]!).data, accelerator: { model: 'nvidia-h100-sxm5-80gb', count: 1e12 } } })],
      ['schema_violation', JSON.stringify({ ...good(valid[0]!), data: { ...good(valid[0]!).data, accelerator: { model: 'nvidia-h100-sxm5-80gb', count: -8 } } })],
      ['unknown_accelerator', JSON.stringify({ ...good(valid[0]!), data: { ...good(valid[0]!).data, accelerator: { model: 'acme-warp-9000', count: 8 } } })],
      ['interval_in_future', JSON.stringify(usageEvent({ tenantId: 'tenant-0', jobId: 'future', startMs: Date.now() + 24 * HOUR, seconds: 60 }))],
      ['interval_too_long', JSON.stringify(usageEvent({ tenantId: 'tenant-0', jobId: 'long', startMs: T0, seconds: 7200 }))],
      ['unsupported_type', JSON.stringify({ ...good(valid[0]!), type: 'com.example.other' })],
      ['too_large', Buffer.alloc(1024 * 1024 + 10, 'x')],
    ];
    const { producer, close } = await testProducer();
    cleanups.push(close);
    // Poison interleaved with valid events on the same partition (same key).
    const messages = valid.flatMap((e, i) => [encode([e])[0]!, ...(poison[i] ? [{ key: e.data.tenantId, value: poison[i][1] }] : [])]);
    messages.push(...poison.slice(valid.length).map(([, value]) => ({ key: 'tenant-0', value })));
    await producer.send(topics.telemetry, messages);
    running.push(await startIngest({ topics, groupId: uniqueId('group'), store }));
    await expectTotals(store, valid);

    const consumer = testKafka().consumer({ groupId: uniqueId('dlq-reader'), maxBytes: 16 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.dlq, fromBeginning: true });
    const dead: { reason: string; offset: string; topic: string; size: number }[] = [];
    void consumer.run({
      eachMessage: async ({ message }) => {
        dead.push({
          reason: message.headers?.[DLQ_HEADERS.reason]?.toString() ?? '',
          offset: message.headers?.[DLQ_HEADERS.offset]?.toString() ?? '',
          topic: message.headers?.[DLQ_HEADERS.topic]?.toString() ?? '',
          size: message.value?.length ?? 0,
        });
      },
    });
    await waitFor(() => dead.length >= poison.length, { what: 'every poison message in the DLQ' });
    await consumer.disconnect();
    expect(dead.map((d) => d.reason).sort()).toEqual(poison.map(([r]) => r).sort());
    expect(dead.every((d) => d.topic === topics.telemetry && /^\d+$/.test(d.offset))).toBe(true);
    expect(dead.find((d) => d.reason === 'too_large')!.size).toBe(1024 * 1024 + 10); // original bytes kept
  });

  it('maps Slurm jobcomp records to usage and dead-letters a record of an unmapped partition', async () => {
    const topics = await testTopics();
    const { store } = env();
    const start = new Date(T0).toISOString().replace(/\.\d+Z$/, '');
    const end = new Date(T0 + 2.5 * HOUR).toISOString().replace(/\.\d+Z$/, '');
    const record = { jobid: 4242, account: 'slurm-tenant', cluster: 'slurm-a', partition: 'gpu', '@start': start, '@end': end, elapsed: 9000, tres_alloc: 'cpu=64,mem=512G,node=2,billing=64,gres/gpu=16', state: 'COMPLETED' };
    const { producer, close } = await testProducer();
    cleanups.push(close);
    await producer.send(topics.slurm, [
      { key: 'slurm-tenant', value: JSON.stringify(record) },
      { key: 'slurm-tenant', value: JSON.stringify({ ...record, jobid: 4243, partition: 'cpu-only-typo' }) },
    ]);
    const groupId = uniqueId('group');
    running.push(await startIngest({ topics, groupId, store }));
    // 16 H100 for 9000 s at the pack's default utilization, in pieces of at most an hour.
    const pieces = slurmRecordToUsageEvents(record, SLURM, { maxIntervalSeconds: pack.limits.maxIntervalSeconds });
    expect(pieces.map((e) => e.data.interval.start)).toHaveLength(3);
    const expected = groundTruth(pieces, pack).get('slurm-tenant');
    expect(expected).toBe(Math.round((16 * 9000 * 989.4e12 * 0.4) / 1e12));
    await waitFor(async () => (await store.accounting.tenantTotals('slurm-tenant')).ops === expected, { what: 'the Slurm job to be counted' });
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up' });
    expect((await store.accounting.tenantTotals('slurm-tenant')).gpu_us).toBe(16 * 9000 * 1e6);
  });

  it('raises exactly the 50/80/90/100 % frontier alerts as an untrusted tenant\'s lineage grows on Tier 1 H100s, and none for a verified Tier 1 lab doing the same', async () => {
    const topics = await testTopics();
    const { store, redis, keys } = env();
    const levels = [
      { fraction: 0.5, severity: 'medium' as const },
      { fraction: 0.8, severity: 'high' as const },
      { fraction: 0.9, severity: 'high' as const },
      { fraction: 1, severity: 'critical' as const },
    ];
    const fourLevels = { ...pack, levels };
    await store.registry.putTenant({ id: 'lab-us', legalName: 'Frontier Lab Inc', hqCountry: 'US', ultimateParent: null, beneficialOwners: [{ name: 'Founder', country: 'US' }], identifiers: { paymentFingerprints: [], contactDomains: [] }, kycStatus: 'verified', validatedEndUser: false, entityListMatch: false, notes: '' });
    await store.registry.putTenant({ id: 'shell-co', legalName: 'Shell Co', hqCountry: 'SG', ultimateParent: { name: 'Parent Group', country: 'CN' }, beneficialOwners: [], identifiers: { paymentFingerprints: [], contactDomains: [] }, kycStatus: 'pending', validatedEndUser: false, entityListMatch: false, notes: '' });
    // 100,000 H100s at 50 % tensor-active for an hour = 1.781e23 operations; 600 hours ≈ 1.07 × 10^26.
    const run = (tenantId: string) => Array.from({ length: 600 }, (_, i) => usageEvent({ tenantId, jobId: `${tenantId}-run`, startMs: T0 - 600 * HOUR + i * HOUR, seconds: 3600, gpus: 100_000, tensorActive: 0.5, lineageId: `${tenantId}/frontier`, country: i % 2 ? 'US' : 'DE' }));
    const { producer, close } = await testProducer();
    cleanups.push(close);
    await producer.send(topics.telemetry, encode([...run('shell-co'), ...run('lab-us')]));
    const groupId = uniqueId('group');
    running.push(await startIngest({ topics, groupId, store, pack: fourLevels }));
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 60_000 });

    const ids = await redis.zrange(keys.alerts.index, 0, -1);
    const alerts = (await Promise.all(ids.map((id) => store.alerts.get<Alert>(id)))).filter((a): a is Alert => a !== null);
    const frontier = alerts.filter((a) => a.rule === 'frontier-approach');
    expect(frontier.map((a) => [a.subject, a.level, a.severity]).sort()).toEqual([
      ['shell-co/frontier', 0.5, 'medium'], ['shell-co/frontier', 0.8, 'high'], ['shell-co/frontier', 0.9, 'high'], ['shell-co/frontier', 1, 'critical'],
    ]);
    expect(alerts.filter((a) => a.kyc?.tenantId === 'lab-us' || a.subject.startsWith('lab-us'))).toEqual([]);
    const top = frontier.find((a) => a.level === 1)!;
    expect(top.kyc).toMatchObject({ tenantId: 'shell-co', tier: 3, trusted: false, kycStatus: 'pending' });
    expect(top.hardware.countries).toEqual(['DE', 'US']);
    expect(top.observedOperations).toBeGreaterThanOrEqual(1e26);
    expect(top.policyVersion).toBe(pack.version);
    expect(top.evidence.contributingTenants).toEqual([{ tenantId: 'shell-co', operations: top.observedOperations }]);
    expect(await redis.xlen(keys.alerts.outbox)).toBe(alerts.length);
  });
});
