// The batch consumer with fetchAhead on, against the real broker: kafkajs fetches the next batches
// while the last ones are still being handled, yet every message is handed over once per success, in
// order per partition, and no offset is committed past a batch that has not succeeded. (Closing with
// a batch in the background: producer-consumer.test.ts.)
import { describe, expect, it } from 'vitest';
import { freshTopics, uniqueId } from '@flopwatch/test-harness';
import { createBatchConsumer, createProducer, type BatchConsumer, type KafkaProducer } from '../src/index.js';
import { testClients, waitFor } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (n: number) => Array.from({ length: n }, (_, i) => String(i));

/** `sends` produce calls of `per` messages each: as many record batches, so small fetches split them. */
async function fill(producer: KafkaProducer, topic: string, partition: number, sends: number, per: number): Promise<void> {
  for (let s = 0; s < sends; s++) {
    await producer.send(topic, Array.from({ length: per }, (_, i) => ({ key: 'k', value: `p${partition}-${s * per + i}-${'x'.repeat(150)}`, partition })));
  }
}

async function committed(consumer: BatchConsumer, partition: number): Promise<string | null> {
  return (await consumer.lag()).find((l) => l.partition === partition)?.committed ?? null;
}

describe('batch consumer with fetchAhead', () => {
  const client = testClients();

  it('hands every message once, in order per partition, never past an uncommitted batch, while fetching ahead', async () => {
    const [topic] = await freshTopics(['ahead'], { numPartitions: 2 });
    const kafka = client();
    const producer = createProducer(kafka);
    const SENDS = 30;
    const PER = 5;
    for (const p of [0, 1]) await fill(producer, topic, p, SENDS, PER);

    const seen = new Map<number, string[]>([[0, []], [1, []]]);
    const violations: string[] = [];
    const consumer: BatchConsumer = createBatchConsumer(kafka, {
      groupId: uniqueId('group'),
      topics: [topic],
      fromBeginning: true,
      concurrency: 2,
      fetchAhead: true,
      // About one record batch of each partition per fetch.
      maxBytesPerPartition: 1_024,
      maxBytes: 2_048,
      onBatch: async ({ partition, firstOffset, messages }) => {
        // The batch before this one of the partition is committed, and nothing after it.
        const c = await committed(consumer, partition);
        if ((c ?? '0') !== firstOffset) violations.push(`p${partition}: batch from ${firstOffset} started with ${c} committed`);
        // The batch's bytes were copied out of the fetch response: its buffer holds this batch only.
        const own = messages.reduce((n, m) => n + (m.key?.length ?? 0) + (m.value?.length ?? 0), 0);
        for (const m of messages) {
          if (m.value?.buffer.byteLength !== own) violations.push(`p${partition}: offset ${m.offset} is a view into ${m.value?.buffer.byteLength} bytes, its batch has ${own}`);
        }
        await sleep(20);
        seen.get(partition)!.push(...messages.map((m) => m.offset));
      },
    });
    await consumer.start();
    const total = SENDS * PER;
    await waitFor(async () => (await consumer.lag()).every((l) => l.committed === String(total)), 'both partitions committed to the end', 60_000);
    expect(violations).toEqual([]);
    expect(seen.get(0)).toEqual(range(total));
    expect(seen.get(1)).toEqual(range(total));
    const stats = consumer.stats();
    expect(stats.failedBatches).toBe(0);
    expect(stats.batches).toBeGreaterThanOrEqual(2 * (total / PER) / 2); // the small fetches split the log
    expect(stats.fetchedAhead).toBeGreaterThan(0); // kafkajs fetched while batches were being handled
    await consumer.close();
  });

  it('holds back batches while those in the background exceed fetchAheadBytes', async () => {
    const [topic] = await freshTopics(['ahead-budget'], { numPartitions: 2 });
    const kafka = client();
    const producer = createProducer(kafka);
    for (const p of [0, 1]) await fill(producer, topic, p, 6, 5);
    // Any batch exceeds one byte, so one batch at a time runs in the background; a wide budget lets
    // both partitions run at once.
    const peakConcurrency = async (fetchAheadBytes: number): Promise<number> => {
      let active = 0;
      let peak = 0;
      const consumer = createBatchConsumer(kafka, {
        groupId: uniqueId('group'),
        topics: [topic],
        fromBeginning: true,
        concurrency: 2,
        fetchAhead: true,
        fetchAheadBytes,
        maxBytesPerPartition: 1_024,
        onBatch: async () => {
          peak = Math.max(peak, ++active);
          await sleep(50);
          active--;
        },
      });
      await consumer.start();
      await waitFor(async () => (await consumer.lag()).every((l) => l.committed === '30'), 'both partitions committed', 60_000);
      await consumer.close();
      return peak;
    };
    expect(await peakConcurrency(1)).toBe(1);
    expect(await peakConcurrency(64 * 1_048_576)).toBe(2);
  });

  it('seeks a failed batch back and hands it again; nothing past it is committed before it succeeds', async () => {
    const [topic] = await freshTopics(['ahead-fail'], { numPartitions: 1 });
    const kafka = client();
    const producer = createProducer(kafka);
    const SENDS = 12;
    const PER = 5;
    await fill(producer, topic, 0, SENDS, PER);
    const total = SENDS * PER;
    const FAIL_AT = 20; // the first batch holding this offset fails once

    const attempts: { first: string; offsets: string[]; ok: boolean }[] = [];
    const commits: { offset: string; afterRetry: boolean }[] = [];
    let failedFirst: string | null = null;
    let retried = false;
    const consumer: BatchConsumer = createBatchConsumer(kafka, {
      groupId: uniqueId('group'),
      topics: [topic],
      fromBeginning: true,
      fetchAhead: true,
      maxBytesPerPartition: 1_024,
      maxBytes: 1_024,
      onBatch: async ({ firstOffset, messages }) => {
        const offsets = messages.map((m) => m.offset);
        if (failedFirst === null && offsets.includes(String(FAIL_AT))) {
          failedFirst = firstOffset;
          attempts.push({ first: firstOffset, offsets, ok: false });
          throw new Error('Redis step failed for good');
        }
        if (failedFirst !== null && firstOffset === failedFirst) retried = true;
        attempts.push({ first: firstOffset, offsets, ok: true });
      },
    });
    consumer.on('committed', ({ offset }) => commits.push({ offset, afterRetry: retried }));
    const failures: string[] = [];
    consumer.on('batchFailed', ({ error }) => failures.push(error.code));
    await consumer.start();
    await waitFor(async () => (await committed(consumer, 0)) === String(total), 'the partition committed to the end', 60_000);

    expect(failures).toEqual(['KAFKA_HANDLER']);
    expect(consumer.stats().failedBatches).toBe(1);
    // The successful attempts cover every offset once, in order: the failed batch was handed again from
    // its first offset, and the batch fetched behind it was dropped, not handed over.
    expect(attempts.filter((a) => a.ok).flatMap((a) => a.offsets)).toEqual(range(total));
    const failedAt = attempts.findIndex((a) => !a.ok);
    expect(attempts[failedAt + 1]?.first).toBe(failedFirst);
    // Commits only move forward, and none passed the failed batch before its retry succeeded.
    const offsets = commits.map((c) => Number(c.offset));
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    expect(commits.filter((c) => !c.afterRetry).every((c) => Number(c.offset) <= Number(failedFirst))).toBe(true);
    expect(commits.at(-1)?.offset).toBe(String(total));
    await consumer.close();
  });
});
