import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freshPrefix, startPrivateRedis, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import { createStore } from '@flopwatch/store';
import type { Alert, UsageEvent } from '@flopwatch/contracts';
import { T0, caughtUp, defaultPack, encode, groundTruth, spawnIngest, startIngest, storedTotals, stream, testProducer, testTopics, ingestTestEnv } from './helpers.js';

const pack = defaultPack();
const { cleanups, env } = ingestTestEnv();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every fault, with the next fetch waiting for the last one's batches (the default) and fetching ahead.
describe.each([false, true])('ingest under faults (FETCH_AHEAD=%s)', (fetchAhead) => {
  it('keeps totals equal to the ground truth when the process is killed with SIGKILL mid-stream three times and restarted', async () => {
    const topics = await testTopics();
    const { store, prefix } = env();
    const groupId = uniqueId('group');
    const events = stream(6, 2, 60); // 720 events
    const chunks = Array.from({ length: 8 }, (_, i) => events.slice(i * 90, (i + 1) * 90));
    const { producer, close } = await testProducer();
    cleanups.push(close);
    const envVars = { REDIS_PREFIX: prefix, TELEMETRY_TOPIC: topics.telemetry, SLURM_TOPIC: topics.slurm, DLQ_TOPIC: topics.dlq, INGEST_GROUP_ID: groupId, TOPIC_PARTITIONS: '3', KAFKA_SESSION_TIMEOUT: '6s', FETCH_AHEAD: String(fetchAhead) };

    let kills = 0;
    for (let round = 0; round < 4; round++) {
      const proc = spawnIngest(envVars);
      cleanups.push(async () => void proc.child.kill('SIGKILL'));
      await waitFor(() => proc.lines.some((l) => l.includes('ingest ready')), { what: 'the ingest to be ready', timeoutMs: 60_000 });
      expect(proc.lines.some((l) => l.includes(`"FETCH_AHEAD":${fetchAhead}`))).toBe(true);
      await producer.send(topics.telemetry, encode(chunks[2 * round]!));
      await sleep(150);
      await producer.send(topics.telemetry, encode(chunks[2 * round + 1]!));
      if (round < 3) {
        await sleep(100 + 150 * round); // somewhere in the middle of consuming what was just sent
        proc.child.kill('SIGKILL');
        await proc.exited;
        kills++;
      } else {
        await waitFor(() => caughtUp(groupId, topics), { what: 'the last instance to catch up', timeoutMs: 60_000 });
        proc.child.kill('SIGTERM');
        expect(await proc.exited).toBe(0);
        expect(proc.lines.some((l) => l.includes('ingest stopped'))).toBe(true);
      }
    }
    expect(kills).toBe(3);
    const truth = groundTruth(events, pack);
    expect(await storedTotals(store, truth.keys())).toEqual(truth);
  }, 240_000);

  it('keeps totals exact and raises each alert once with two instances in one group and a rebalance mid-stream', async () => {
    const topics = await testTopics();
    const { store, redis, prefix, keys } = env();
    const groupId = uniqueId('group');
    // An unregistered tenant (unknown KYC, untrusted) whose lineage passes every default level of 10^26.
    const big = Array.from({ length: 120 }, (_, i) => usageEvent({ tenantId: 'ghost', jobId: 'ghost-run', startMs: T0 - 200 * 3_600_000 + i * 3_600_000, seconds: 3600, gpus: 500_000, tensorActive: 0.5, lineageId: 'ghost/frontier' }) as UsageEvent);
    const small = stream(5, 2, 30);
    const all = [...big, ...small];
    const half = Math.floor(all.length / 2);
    const { producer, close } = await testProducer();
    cleanups.push(close);

    const a = await startIngest({ topics, groupId, store, fetchAhead });
    cleanups.push(() => a.close());
    await producer.send(topics.telemetry, encode(all.slice(0, half)));
    await sleep(300);
    const b = await startIngest({ topics, groupId, store: createStore({ redis, prefix }), fetchAhead }); // joins: rebalance
    cleanups.push(() => b.close());
    await producer.send(topics.telemetry, encode(all.slice(half)));
    await sleep(300);
    await a.close(); // leaves: another rebalance
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 60_000 });

    const truth = groundTruth(all, pack);
    expect(await storedTotals(store, truth.keys())).toEqual(truth);
    const ids = await redis.zrange(keys.alerts.index, 0, -1);
    const alerts = (await Promise.all(ids.map((id) => store.alerts.get<Alert>(id)))).filter((x): x is Alert => x !== null);
    const frontier = alerts.filter((x) => x.rule === 'frontier-approach' && x.subject === 'ghost/frontier').map((x) => x.level).sort((x, y) => x - y);
    expect(frontier).toEqual(pack.levels.map((l) => l.fraction));
    const outbox = await redis.xrange(keys.alerts.outbox, '-', '+');
    const outboxIds = outbox.map(([, fields]) => fields[fields.indexOf('id') + 1]);
    expect(outboxIds.length).toBe(ids.length);
    expect(new Set(outboxIds).size).toBe(outboxIds.length);
  });

  it('loses nothing and counts nothing twice when Redis stops mid-stream and comes back, reporting not-ready meanwhile', async () => {
    const topics = await testTopics();
    const privateRedis = await startPrivateRedis();
    cleanups.push(() => privateRedis.destroy());
    const redis = new Redis(privateRedis.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    cleanups.push(async () => void redis.disconnect());
    const store = createStore({ redis, prefix: freshPrefix('restart') });
    const groupId = uniqueId('group');
    const first = stream(4, 2, 20);
    const second = stream(4, 2, 20, 20);
    const { producer, close } = await testProducer();
    cleanups.push(close);
    const ingest = await startIngest({ topics, groupId, store, fetchAhead });
    cleanups.push(() => ingest.close());

    await producer.send(topics.telemetry, encode(first));
    await waitFor(async () => {
      const got = await storedTotals(store, groundTruth(first, pack).keys());
      return [...groundTruth(first, pack)].every(([t, v]) => got.get(t) === v);
    }, { what: 'the first half to be counted' });

    await privateRedis.stop();
    await producer.send(topics.telemetry, encode(second));
    await waitFor(() => !ingest.ingest.readiness().ready, { what: 'the ingest to report not-ready', timeoutMs: 20_000 });
    await sleep(1_000);
    await privateRedis.start();
    await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up after Redis came back', timeoutMs: 60_000 });
    await waitFor(() => ingest.ingest.readiness().ready, { what: 'the ingest to be ready again' });
    const truth = groundTruth([...first, ...second], pack);
    expect(await storedTotals(store, truth.keys())).toEqual(truth);
  });
});
