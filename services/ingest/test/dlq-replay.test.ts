// DLQ replay against a real Kafka: a fresh dead-letter topic and fresh source topics per scenario,
// dead letters written as the ingest writes them (original key, value and headers plus the
// flopwatch-dlq-* / flopwatch-source-* headers), replayed by reason and by time, and the source
// topics read back with a plain kafkajs consumer to check exactly what arrived.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaClient, deleteTopics } from '@flopwatch/kafka';
import { dropPrefix, freshTopics, kafkaBrokers, testKafka, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import { DEFAULT_POLICY_PATH, parsePolicyPack } from '@flopwatch/policy';
import { DLQ_HEADERS } from '../src/pipeline.js';
import { parseReasons, parseTime, REPLAYED_FROM_HEADER, replayDeadLetters } from '../src/dlq-replay.js';
import { caughtUp, silent, startIngest, storedTotals, T0, testStore, testTopics } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.now();
const created: string[] = [];

interface DeadLetter {
  reason: string;
  source: string | null;
  key: string;
  value: string;
  /** When it was dead-lettered (the DLQ message timestamp). */
  at: number;
  partition: number;
  /** Headers the original message carried. */
  original: Record<string, string>;
}

interface Written extends DeadLetter {
  offset: string;
}

/** Fresh DLQ and source topics, with `letters(src)` written to the DLQ as the ingest would. */
async function scenario(letters: (src: { a: string; b: string; dlq: string }) => DeadLetter[]) {
  const [dlq, a, b] = await freshTopics(['dlq', 'src-a', 'src-b']);
  created.push(dlq, a, b);
  const list = letters({ a, b, dlq });
  const producer = testKafka().producer();
  await producer.connect();
  const written: Written[] = [];
  try {
    for (const [i, d] of list.entries()) {
      const [meta] = await producer.send({
        topic: dlq,
        messages: [
          {
            key: d.key,
            value: d.value,
            partition: d.partition,
            timestamp: String(d.at),
            headers: {
              ...d.original,
              [DLQ_HEADERS.reason]: d.reason,
              [DLQ_HEADERS.message]: `test dead letter ${i}`,
              ...(d.source === null ? {} : { [DLQ_HEADERS.topic]: d.source }),
              [DLQ_HEADERS.partition]: '1',
              [DLQ_HEADERS.offset]: String(100 + i),
            },
          },
        ],
      });
      written.push({ ...d, offset: meta!.baseOffset! });
    }
  } finally {
    await producer.disconnect();
  }
  return { dlq, a, b, written };
}

const event = (n: number, model: string) => JSON.stringify({ id: `event-${n}`, data: { accelerator: { model } } });

/** Eight dead letters over three DLQ partitions: four reasons, two source topics, old and recent. */
const mixed = ({ a, b }: { a: string; b: string }): DeadLetter[] => [
  { reason: 'unknown_accelerator', source: a, key: 'tenant-1', value: event(1, 'NVIDIA GB300'), at: NOW - 10 * DAY, partition: 0, original: { traceparent: '00-aa-01', 'ce-source': 'dcgm://node-1' } },
  { reason: 'unknown_accelerator', source: a, key: 'tenant-2', value: event(2, 'NVIDIA B300 SXM6 AC'), at: NOW - 1 * HOUR, partition: 1, original: { traceparent: '00-bb-01' } },
  { reason: 'unknown_accelerator', source: b, key: 'tenant-3', value: event(3, 'AMD Instinct MI355X'), at: NOW - 2 * HOUR, partition: 2, original: {} },
  { reason: 'not_json', source: a, key: 'tenant-1', value: '{"broken', at: NOW - 3 * HOUR, partition: 0, original: { 'x-producer': 'librdkafka' } },
  { reason: 'schema_violation', source: b, key: 'tenant-4', value: '{"specversion":"0.3"}', at: NOW - 4 * HOUR, partition: 1, original: {} },
  { reason: 'unmapped_partition', source: b, key: 'slurm-a', value: '{"jobid":1}', at: NOW - 5 * DAY, partition: 2, original: {} },
  { reason: 'unknown_accelerator', source: b, key: 'tenant-5', value: event(5, 'Trainium2'), at: NOW - 3 * DAY, partition: 0, original: { 'flopwatch-replayed-from': 'old/0/1' } },
  // No source-topic header: cannot be routed, stays in the DLQ.
  { reason: 'unknown_accelerator', source: null, key: 'tenant-6', value: event(6, 'TPU v7'), at: NOW - 30 * 60_000, partition: 1, original: {} },
];

interface Received {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Every message of `topic`: waits until `expected` arrived, then checks the topic holds no more. */
async function readAll(topic: string, expected: number): Promise<Received[]> {
  const kafka = testKafka();
  const consumer = kafka.consumer({ groupId: uniqueId('read'), maxWaitTimeInMs: 200 });
  const out: Received[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v.at(-1) : v);
        out.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', headers });
      },
    });
    if (expected > 0) await waitFor(() => out.length >= expected, { timeoutMs: 30_000, what: `${expected} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  // Exactly: the topic's end offsets add up to what was read (nothing else arrived).
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.reduce((n, p) => n + Number(p.high), 0)).toBe(expected);
  } finally {
    await admin.disconnect();
  }
  return out;
}

/** What a replay of `d` must deliver: original key, value and headers, plus where it was read. */
const expectedFrom = (dlq: string, d: Written): Received => {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.original)) if (k !== REPLAYED_FROM_HEADER) headers[k] = v;
  headers[REPLAYED_FROM_HEADER] = `${dlq}/${d.partition}/${d.offset}`;
  return { key: d.key, value: d.value, headers };
};

const sortById = (list: Received[]) => [...list].sort((x, y) => x.headers[REPLAYED_FROM_HEADER]!.localeCompare(y.headers[REPLAYED_FROM_HEADER]!));

function client() {
  return createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueId('dlq-replay'), logger: silent });
}

afterAll(async () => {
  const kafka = client();
  try {
    await deleteTopics(kafka, created);
  } finally {
    await kafka.close();
  }
});

describe('dlq replay', () => {
  it('re-publishes every dead letter of the chosen reason to its source topic, and only those', async () => {
    const { dlq, a, b, written } = await scenario(mixed);
    const kafka = client();
    const progress: number[] = [];
    try {
      const summary = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons: ['unknown_accelerator'], log: silent, onProgress: (p) => progress.push(p.read) });
      const chosen = written.filter((d) => d.reason === 'unknown_accelerator');
      const routable = chosen.filter((d) => d.source !== null);
      expect(summary).toMatchObject({ scanned: 8, selected: 5, republished: 4, unroutable: 1, dryRun: false, incompletePartitions: [] });
      expect(summary.bySource).toEqual({ [a]: { unknown_accelerator: 2 }, [b]: { unknown_accelerator: 2 } });
      expect(progress.at(-1)).toBe(8);

      const gotA = await readAll(a, 2);
      const gotB = await readAll(b, 2);
      expect(sortById(gotA)).toEqual(sortById(routable.filter((d) => d.source === a).map((d) => expectedFrom(dlq, d))));
      expect(sortById(gotB)).toEqual(sortById(routable.filter((d) => d.source === b).map((d) => expectedFrom(dlq, d))));
      for (const m of [...gotA, ...gotB]) {
        expect(Object.keys(m.headers).filter((h) => h.startsWith('flopwatch-dlq-') || h.startsWith('flopwatch-source-'))).toEqual([]);
      }
    } finally {
      await kafka.close();
    }
  });

  it('selects several reasons within --since/--until, and a second run re-publishes them again', async () => {
    const { dlq, a, b, written } = await scenario(mixed);
    const since = NOW - 1 * DAY;
    const until = NOW - 90 * 60_000;
    const kafka = client();
    try {
      const reasons = ['unknown_accelerator', 'not_json', 'unmapped_partition'] as const;
      const inWindow = written.filter((d) => (reasons as readonly string[]).includes(d.reason) && d.at >= since && d.at < until && d.source !== null);
      // By hand: the B300 event is 1 h old (after --until), the GB300 one 10 days (before --since),
      // the Slurm record 5 days; left are the MI355X event (2 h, to b) and the broken JSON (3 h, to a).
      expect(inWindow.map((d) => d.key).sort()).toEqual(['tenant-1', 'tenant-3']);

      const first = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons, since, until, log: silent });
      expect(first).toMatchObject({ selected: 2, republished: 2, unroutable: 0 });
      expect(first.bySource).toEqual({ [a]: { not_json: 1 }, [b]: { unknown_accelerator: 1 } });
      // --since starts each partition's read at its first dead letter written at or after it (later
      // ones are read too, and filtered): partition 0 holds -10 d, -3 h, -3 d, so 2 of its 3 are read;
      // partitions 1 (-1 h, -4 h, -30 min) and 2 (-2 h, -5 d) are read whole: 2 + 3 + 2.
      expect(first.scanned).toBe(7);

      const second = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons, since, until, log: silent });
      expect(second).toMatchObject({ selected: 2, republished: 2 });
      // Twice the same two messages: the replay is not idempotent by itself; the ingest counts each
      // covered interval once, so a second replay adds nothing to the books.
      const expectA = inWindow.filter((d) => d.source === a).map((d) => expectedFrom(dlq, d));
      const expectB = inWindow.filter((d) => d.source === b).map((d) => expectedFrom(dlq, d));
      expect(await readAll(a, 2)).toEqual([...expectA, ...expectA]);
      expect(await readAll(b, 2)).toEqual([...expectB, ...expectB]);
    } finally {
      await kafka.close();
    }
  });

  it('publishes nothing on a dry run, and stops at an empty topic at once', async () => {
    const { dlq, a, b } = await scenario(mixed);
    const [empty] = await freshTopics(['dlq-empty']);
    created.push(empty);
    const kafka = client();
    try {
      const dry = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons: ['unknown_accelerator', 'schema_violation'], dryRun: true, log: silent });
      expect(dry).toMatchObject({ scanned: 8, selected: 6, republished: 0, unroutable: 1, dryRun: true });
      expect(dry.bySource).toEqual({ [a]: { unknown_accelerator: 2 }, [b]: { unknown_accelerator: 2, schema_violation: 1 } });
      await readAll(a, 0);
      await readAll(b, 0);
      const none = await replayDeadLetters({ kafka, dlqTopic: empty, reasons: ['unknown_accelerator'], log: silent });
      expect(none).toMatchObject({ scanned: 0, selected: 0, republished: 0 });
    } finally {
      await kafka.close();
    }
  });

  it('replays a copy left by an earlier replay only when its original is not replayed in the same run', async () => {
    // Partition 0: the original (offset 0, 10 days old), then the copy the ingest dead-lettered when
    // an earlier replay of it failed again (offset 1, an hour old, naming offset 0).
    const { dlq, a, written } = await scenario(({ a: src, dlq: topic }): DeadLetter[] => [
      { reason: 'unknown_accelerator', source: src, key: 'tenant-1', value: event(1, 'NVIDIA Z9000'), at: NOW - 10 * DAY, partition: 0, original: {} },
      { reason: 'unknown_accelerator', source: src, key: 'tenant-1', value: event(1, 'NVIDIA Z9000'), at: NOW - HOUR, partition: 0, original: { [REPLAYED_FROM_HEADER]: `${topic}/0/0` } },
      // A copy dead-lettered for another reason than its original (offset 2).
      { reason: 'interval_too_late', source: src, key: 'tenant-1', value: event(1, 'NVIDIA Z9000'), at: NOW - 30 * 60_000, partition: 0, original: { [REPLAYED_FROM_HEADER]: `${topic}/0/0` } },
    ]);
    const kafka = client();
    try {
      const all = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons: ['unknown_accelerator'], log: silent });
      expect(all).toMatchObject({ scanned: 3, selected: 1, copies: 1, republished: 1 });
      // From a day ago the original is not read: its copy is the one to replay.
      const recent = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons: ['unknown_accelerator'], since: NOW - DAY, log: silent });
      expect(recent).toMatchObject({ scanned: 2, selected: 1, copies: 0, republished: 1 });
      // The original is read but not of a chosen reason, so it is not replayed: the copy is.
      const late = await replayDeadLetters({ kafka, dlqTopic: dlq, reasons: ['interval_too_late'], log: silent });
      expect(late).toMatchObject({ scanned: 3, selected: 1, copies: 0, republished: 1 });
      // The original, the first copy, the second copy, each naming where it was read.
      expect(await readAll(a, 3)).toEqual([expectedFrom(dlq, written[0]!), expectedFrom(dlq, written[1]!), expectedFrom(dlq, written[2]!)]);
    } finally {
      await kafka.close();
    }
  });

  it('fails with KAFKA_TOPIC_NOT_FOUND when the dead-letter topic does not exist', async () => {
    const kafka = client();
    try {
      await expect(replayDeadLetters({ kafka, dlqTopic: uniqueId('no-such-dlq'), reasons: ['not_json'], log: silent })).rejects.toMatchObject({ code: 'KAFKA_TOPIC_NOT_FOUND', retryable: false });
    } finally {
      await kafka.close();
    }
  });
});

describe('dlq replay arguments', () => {
  it('accepts known reasons and refuses unknown ones, listing the valid reasons', () => {
    expect(parseReasons('unknown_accelerator, not_json,unknown_accelerator')).toEqual(['unknown_accelerator', 'not_json']);
    expect(() => parseReasons('unknown_accelerator,bogus')).toThrow(/unknown reason bogus; valid reasons: not_json, schema_violation, .*unknown_accelerator/);
    expect(() => parseReasons(undefined)).toThrow(/--reason is required/);
    expect(() => parseReasons('not_json,message_too_large')).toThrow(/truncated copies and cannot be replayed/);
  });

  it('reads RFC 3339 times and durations before now', () => {
    const now = Date.parse('2026-11-29T12:00:00Z');
    expect(parseTime('7d', now, '--since')).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(parseTime('90m', now, '--since')).toBe(Date.parse('2026-11-29T10:30:00Z'));
    expect(parseTime('2026-11-01T00:00:00+01:00', now, '--since')).toBe(Date.parse('2026-10-31T23:00:00Z'));
    expect(() => parseTime('last week', now, '--until')).toThrow(/--until "last week" is neither/);
  });
});

describe('pnpm dlq:replay', () => {
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--conditions=flopwatch-source', '--import', 'tsx', 'scripts/dlq-replay.ts', ...args], {
        cwd: repoRoot,
        env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(','), LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('exit', (code) => resolve({ code, out, err }));
    });

  it('replays by reason and --since from the command line, with progress and a summary', async () => {
    const { dlq, a, b, written } = await scenario(mixed);
    const { code, out, err } = await run(['--reason', 'unknown_accelerator', '--since', '2d', '--topic', dlq]);
    expect(err).toBe('');
    // Within 2 days and of that reason: the B300 (to a) and MI355X (to b) events, and the unroutable TPU one.
    const picked = written.filter((d) => d.reason === 'unknown_accelerator' && d.at >= NOW - 2 * DAY);
    expect(picked.map((d) => d.key).sort()).toEqual(['tenant-2', 'tenant-3', 'tenant-6']);
    expect(out).toMatch(/read \d+ \/ \d+ \(100\.0 %\)/);
    expect(out).toContain('selected 3, re-published 2');
    expect(out).toContain('1 selected dead letters have no source-topic header');
    // Exit status 1: one dead letter could not be re-published.
    expect(code).toBe(1);
    expect(await readAll(a, 1)).toEqual([expectedFrom(dlq, picked.find((d) => d.key === 'tenant-2')!)]);
    expect(await readAll(b, 1)).toEqual([expectedFrom(dlq, picked.find((d) => d.key === 'tenant-3')!)]);
  });

  it('refuses an unknown reason with exit status 2 and the list of valid ones', async () => {
    const { code, err } = await run(['--reason', 'unknown_accelerater']);
    expect(code).toBe(2);
    expect(err).toContain('unknown reason unknown_accelerater; valid reasons: not_json');
    expect(err).toContain('unknown_accelerator');
  });
});

// The whole loop with the real ingest: dead letters an ingest wrote while its catalog lacked the B300
// and GB300 (as every release before issue 12 did), replayed into the telemetry topic after the
// upgrade, counted once; a second replay adds nothing; a model still unknown goes back to the DLQ.
describe('dlq replay after a catalog change, through the real ingest', () => {
  it('counts the replayed events once, however often they are replayed', async () => {
    const topics = await testTopics();
    created.push(topics.telemetry, topics.slurm, topics.dlq);
    const { redis, store, prefix } = testStore();
    const groupId = uniqueId('replay-ingest');
    const ingest = await startIngest({ topics, groupId, store });
    const kafka = client();
    const [tenantA, tenantB] = [uniqueId('tenant-a'), uniqueId('tenant-b')];
    const HOUR_S = 3600;
    const letters = [
      // Two contiguous hours of one job on 8 B300s at tensor-active 0.4.
      usageEvent({ tenantId: tenantA, jobId: 'b300-run', startMs: T0, seconds: HOUR_S, gpus: 8, model: 'NVIDIA B300 SXM6 AC', tensorActive: 0.4 }),
      usageEvent({ tenantId: tenantA, jobId: 'b300-run', startMs: T0 + HOUR_S * 1000, seconds: HOUR_S, gpus: 8, model: 'NVIDIA B300 SXM6 AC', tensorActive: 0.4 }),
      // Half an hour on 4 GB300s at 0.5.
      usageEvent({ tenantId: tenantB, jobId: 'gb300-run', startMs: T0, seconds: 1800, gpus: 4, model: 'NVIDIA GB300', tensorActive: 0.5 }),
      // Still unknown after the upgrade.
      usageEvent({ tenantId: tenantB, jobId: 'future-run', startMs: T0, seconds: 1800, gpus: 4, model: 'NVIDIA Z9000 SXM9', tensorActive: 0.5 }),
    ];
    // Expected books, in tera-operations (10^12), from the datasheet's dense BF16 peaks:
    // B300 2,250 TFLOP/s, GB300 2,500 TFLOP/s.
    const expectedA = 2 * (8 * HOUR_S * 2250 * 0.4); // 51,840,000
    const expectedB = 4 * 1800 * 2500 * 0.5; // 9,000,000
    const dlqCount = async () => {
      const admin = testKafka().admin();
      await admin.connect();
      try {
        return (await admin.fetchTopicOffsets(topics.dlq)).reduce((n, p) => n + Number(p.high), 0);
      } finally {
        await admin.disconnect();
      }
    };
    try {
      const producer = testKafka().producer();
      await producer.connect();
      await producer.send({
        topic: topics.dlq,
        messages: [
          ...letters.map((e, i) => ({
            key: e.data.tenantId,
            value: JSON.stringify(e),
            headers: {
              [DLQ_HEADERS.reason]: 'unknown_accelerator',
              [DLQ_HEADERS.message]: `accelerator model "${e.data.accelerator.model}" is not in the catalog`,
              [DLQ_HEADERS.topic]: topics.telemetry,
              [DLQ_HEADERS.partition]: '0',
              [DLQ_HEADERS.offset]: String(i),
            },
          })),
          { key: tenantA, value: '{"not json', headers: { [DLQ_HEADERS.reason]: 'not_json', [DLQ_HEADERS.topic]: topics.telemetry } },
        ],
      });
      await producer.disconnect();
      expect(await dlqCount()).toBe(5);

      const first = await replayDeadLetters({ kafka, dlqTopic: topics.dlq, reasons: ['unknown_accelerator'], log: silent });
      expect(first).toMatchObject({ scanned: 5, selected: 4, republished: 4 });
      await waitFor(async () => (await caughtUp(groupId, topics)) && (await dlqCount()) === 6, { timeoutMs: 60_000, what: 'the ingest to read the replayed events' });
      expect(await storedTotals(store, [tenantA, tenantB])).toEqual(new Map([[tenantA, expectedA], [tenantB, expectedB]]));

      // The second replay reads the DLQ to its end when it starts: the five originals and the copy of
      // the Z9000 event the ingest dead-lettered again. That copy names its original in
      // flopwatch-replayed-from, which this run replays, so only the original goes: 4 selected, 1 copy.
      const second = await replayDeadLetters({ kafka, dlqTopic: topics.dlq, reasons: ['unknown_accelerator'], log: silent });
      expect(second).toMatchObject({ scanned: 6, selected: 4, copies: 1, republished: 4 });
      // The Z9000 event comes back to the DLQ once more: 6 + 1.
      await waitFor(async () => (await caughtUp(groupId, topics)) && (await dlqCount()) === 7, { timeoutMs: 60_000, what: 'the ingest to read the second replay' });
      expect(await storedTotals(store, [tenantA, tenantB])).toEqual(new Map([[tenantA, expectedA], [tenantB, expectedB]]));
    } finally {
      await kafka.close();
      await ingest.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});

// The same loop as an operator lives it: an ingest without the model dead-letters its events; the
// pack gains the model's row; a new ingest with that pack reads what `replayDeadLetters` sends back
// and counts it once, however often it is replayed.
describe('dlq replay after the policy pack learns a model, through the real ingest', () => {
  it('dead-letters an unknown model, then counts the replayed events once after the pack adds it', async () => {
    const topics = await testTopics();
    created.push(topics.telemetry, topics.slurm, topics.dlq);
    const { redis, store, prefix } = testStore();
    const kafka = client();
    const tenant = uniqueId('acme-user');
    // 16 made-up Acme T1 chips (1,200 TFLOP/s dense BF16) for 30 one-minute reports at tensor-active 0.5.
    const events = Array.from({ length: 30 }, (_, m) => usageEvent({ tenantId: tenant, jobId: 'acme-run', node: 'acme-host-1', startMs: T0 + m * 60_000, seconds: 60, gpus: 16, model: 'ACME T1 96GB', tensorActive: 0.5 }));
    const expected = 30 * Math.round(16 * 1200 * 60 * 0.5); // tera-operations
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: topics.telemetry, messages: events.map((e) => ({ key: tenant, value: JSON.stringify(e) })) });
    await producer.disconnect();
    const before = await startIngest({ topics, groupId: uniqueId('before'), store });
    try {
      await waitFor(async () => (await replayDeadLetters({ kafka, dlqTopic: topics.dlq, reasons: ['unknown_accelerator'], dryRun: true, log: silent })).selected === 30, { what: '30 unknown_accelerator dead letters' });
      expect(await storedTotals(store, [tenant])).toEqual(new Map([[tenant, 0]]));
    } finally {
      await before.close();
    }

    const pack = parsePolicyPack(readFileSync(DEFAULT_POLICY_PATH, 'utf8').replace(/^accelerators: \[\]$/m, ACME_ROW), 'pack-with-acme.yaml');
    const groupId = uniqueId('after');
    const after = await startIngest({ topics, groupId, store, pack });
    try {
      await waitFor(() => caughtUp(groupId, topics), { what: 'the new ingest to read the old stream' });
      expect((await replayDeadLetters({ kafka, dlqTopic: topics.dlq, reasons: ['unknown_accelerator'], log: silent })).republished).toBe(30);
      await waitFor(async () => (await storedTotals(store, [tenant])).get(tenant) === expected, { what: 'the replayed events to be counted' });
      expect((await replayDeadLetters({ kafka, dlqTopic: topics.dlq, reasons: ['unknown_accelerator'], log: silent })).republished).toBe(30);
      await waitFor(() => caughtUp(groupId, topics), { what: 'the second replay to be read' });
      expect(await storedTotals(store, [tenant])).toEqual(new Map([[tenant, expected]]));
    } finally {
      await kafka.close();
      await after.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });
});

const ACME_ROW = `accelerators:
  - id: acme-tensor-1
    vendor: Acme
    name: Acme Tensor 1
    aliases: ["ACME T1 96GB"]
    densePeakTflops: { bf16: 1200, fp8: 2400 }
    tpp: 19200
    dieAreaMm2: 800
    source: https://example.invalid/acme-t1-datasheet
`;
