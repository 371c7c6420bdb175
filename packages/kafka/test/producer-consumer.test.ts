import { describe, expect, it } from 'vitest';
import { freshTopics, uniqueId } from '@flopwatch/test-harness';
import { createBatchConsumer, createProducer, KafkaPortError, type BatchConsumer, type ConsumedMessage } from '../src/index.js';
import { testClients, testLogger, waitFor } from './helpers.js';

describe('producer and batch consumer', () => {
  const client = testClients();

  it('round-trips messages with keys, null keys and headers, and commits after the batch', async () => {
    const [topic] = await freshTopics(['roundtrip'], { numPartitions: 1 });
    const kafka = client();
    const producer = createProducer(kafka);
    await producer.connect();
    const sent = await producer.send(topic, [
      { key: 'tenant-1', value: JSON.stringify({ n: 1 }), headers: { 'content-type': 'application/json', trace: Buffer.from([1, 2, 3]) } },
      { key: null, value: Buffer.from('raw') },
      { key: Buffer.from('tenant-2'), value: 'three' },
    ]);
    expect(sent).toEqual([{ topic, partition: 0, baseOffset: '0' }]);

    const received: ConsumedMessage[] = [];
    const groupId = uniqueId('group');
    const consumer = createBatchConsumer(kafka, { groupId, topics: [topic], fromBeginning: true, onBatch: async ({ messages }) => void received.push(...messages) });
    await consumer.start();
    await waitFor(() => received.length >= 3, 'three messages');
    expect(received.map((m) => [m.offset, m.key?.toString() ?? null, m.value?.toString()])).toEqual([
      ['0', 'tenant-1', '{"n":1}'],
      ['1', null, 'raw'],
      ['2', 'tenant-2', 'three'],
    ]);
    expect(received[0]?.headers['content-type']?.toString()).toBe('application/json');
    expect([...(received[0]?.headers.trace ?? [])]).toEqual([1, 2, 3]);
    expect(received[0]?.timestamp).toBeGreaterThan(Date.now() - 60_000);
    await waitFor(async () => (await consumer.lag())[0]?.committed === '3', 'commit of offset 3');
    expect(await consumer.lag()).toEqual([{ topic, partition: 0, committed: '3', high: '3', low: '0', lag: 0 }]);
    expect(consumer.stats()).toMatchObject({ state: 'running', batches: 1, failedBatches: 0, rebalances: 0 });
    await Promise.all([consumer.close(), consumer.close()]);
    expect(consumer.stats().state).toBe('closed');
  });

  it('redelivers a batch whose handler throws and commits it only after it succeeds', async () => {
    const [topic] = await freshTopics(['redeliver'], { numPartitions: 1 });
    const kafka = client();
    const producer = createProducer(kafka);
    await producer.send(topic, ['a', 'b', 'c', 'd'].map((value) => ({ key: 'k', value })));

    const groupId = uniqueId('group');
    const attempts: string[][] = [];
    const committedDuringFailure: (string | null)[] = [];
    const consumer: BatchConsumer = createBatchConsumer(kafka, {
      groupId,
      topics: [topic],
      fromBeginning: true,
      onBatch: async ({ messages }) => {
        attempts.push(messages.map((m) => m.offset));
        if (attempts.length <= 2) {
          committedDuringFailure.push((await consumer.lag())[0]?.committed ?? null);
          throw new TypeError('handler bug');
        }
      },
    });
    const failures: string[] = [];
    consumer.on('batchFailed', ({ error }) => failures.push(error.code));
    await consumer.start();
    // The broker shows the commit a moment before the consumer's commit call returns and counts the batch.
    await waitFor(async () => (await consumer.lag())[0]?.committed === '4' && consumer.stats().batches === 1, 'commit after success', 45_000);
    expect(attempts.slice(0, 3)).toEqual([
      ['0', '1', '2', '3'],
      ['0', '1', '2', '3'],
      ['0', '1', '2', '3'],
    ]);
    expect(committedDuringFailure).toEqual([null, null]);
    expect(failures).toEqual(['KAFKA_HANDLER', 'KAFKA_HANDLER']);
    expect(consumer.stats()).toMatchObject({ state: 'running', failedBatches: 2, batches: 1 });

    // A new member of the group starts after the committed offset: nothing is read twice.
    await consumer.close();
    await producer.send(topic, [{ key: 'k', value: 'e' }]);
    const later: string[] = [];
    const next = createBatchConsumer(kafka, { groupId, topics: [topic], onBatch: async ({ messages }) => void later.push(...messages.map((m) => m.offset)) });
    await next.start();
    await waitFor(() => later.length > 0, 'the new message');
    expect(later).toEqual(['4']);
  });

  it('resumes from the offsets onAssigned returns, skipping earlier messages', async () => {
    const [topic] = await freshTopics(['seek'], { numPartitions: 2 });
    const kafka = client();
    const producer = createProducer(kafka);
    for (const partition of [0, 1]) {
      await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ value: `p${partition}-${i}`, partition })));
    }
    const seen = new Map<number, string[]>([[0, []], [1, []]]);
    const assignedWith: string[][] = [];
    const consumer = createBatchConsumer(kafka, {
      groupId: uniqueId('group'),
      topics: [topic],
      fromBeginning: true,
      onAssigned: async (assignments) => {
        assignedWith.push(assignments.map((a) => `${a.topic}/${a.partition}`).sort());
        await new Promise((r) => setTimeout(r, 200)); // as slow as a Redis round trip, or slower
        return [{ topic, partition: 0, offset: '6' }];
      },
      onBatch: async ({ partition, messages }) => void seen.get(partition)?.push(...messages.map((m) => m.offset)),
    });
    await consumer.start();
    await waitFor(() => (seen.get(0)?.length ?? 0) >= 4 && (seen.get(1)?.length ?? 0) >= 10, 'both partitions');
    expect(assignedWith).toEqual([[`${topic}/0`, `${topic}/1`]]);
    expect(seen.get(0)).toEqual(['6', '7', '8', '9']);
    expect(seen.get(1)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    await waitFor(async () => (await consumer.lag()).every((l) => l.lag === 0), 'commits on both partitions');
  });

  it('splits partitions between two members of a group and counts the rebalance', async () => {
    const [topic] = await freshTopics(['group'], { numPartitions: 4 });
    const groupId = uniqueId('group');
    const kafka = client();
    const owners = new Map<string, number[]>();
    const make = (name: string) => {
      const consumer = createBatchConsumer(kafka, { groupId, topics: [topic], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, onBatch: async () => undefined });
      consumer.on('assigned', ({ assignments }) => owners.set(name, assignments.map((a) => a.partition).sort()));
      return consumer;
    };
    const a = make('a');
    await a.start();
    await waitFor(() => owners.get('a')?.length === 4, 'a owning all partitions');
    const b = make('b');
    await b.start();
    await waitFor(() => (owners.get('b')?.length ?? 0) > 0 && (owners.get('a')?.length ?? 0) < 4, 'partitions split', 45_000);
    const all = [...(owners.get('a') ?? []), ...(owners.get('b') ?? [])].sort();
    expect(all).toEqual([0, 1, 2, 3]);
    expect(a.stats().rebalances).toBeGreaterThanOrEqual(1);
    expect(b.stats().rebalances).toBe(0);
    await b.close();
    await waitFor(() => owners.get('a')?.length === 4, 'a owning all partitions again', 45_000);
    expect(a.stats().rebalances).toBeGreaterThanOrEqual(2);
  });

  // With fetchAhead the batch runs in the background, outside kafkajs's own wait for its handler.
  it.each([false, true])('closes while a batch is in flight only after the batch finishes and commits it (fetchAhead %s)', async (fetchAhead) => {
    const [topic] = await freshTopics(['close'], { numPartitions: 1 });
    const kafka = client();
    await createProducer(kafka).send(topic, [{ value: 'x' }, { value: 'y' }]);
    let inFlight = false;
    let finished = false;
    let aborted = false;
    const consumer = createBatchConsumer(kafka, {
      groupId: uniqueId('group'),
      topics: [topic],
      fromBeginning: true,
      fetchAhead,
      maxWaitTimeMs: 100, // kafkajs's own stop waits for the fetch in flight: keep it shorter than the batch
      onBatch: async ({ signal }) => {
        inFlight = true;
        await new Promise((r) => setTimeout(r, 1_500));
        aborted = signal.aborted;
        finished = true;
      },
    });
    await consumer.start();
    await waitFor(() => inFlight, 'a batch in flight');
    await consumer.close();
    expect(finished).toBe(true);
    expect(aborted).toBe(true);
    expect((await consumer.lag())[0]?.committed).toBe('2');
    await expect(consumer.start()).rejects.toMatchObject({ code: 'KAFKA_CLOSED' });
  });

  it('types the error of a send to a topic that does not exist', async () => {
    const kafka = client();
    const producer = createProducer(kafka, { retry: { retries: 1, initialRetryTimeMs: 100 } });
    const error = await producer.send(uniqueId('missing'), [{ value: 'x' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaPortError);
    expect(error).toMatchObject({ code: 'KAFKA_TOPIC_NOT_FOUND', retryable: false });
    expect((error as KafkaPortError).cause).toBeDefined();
    await producer.close();
    await expect(producer.send('t', [{ value: 'x' }])).rejects.toMatchObject({ code: 'KAFKA_CLOSED' });
  });

  it('logs through pino: kafkajs records carry their namespace, send failures are warnings', async () => {
    const { log, records } = testLogger();
    const kafka = client(log);
    expect(() => createProducer(kafka, { retry: { retries: 0 } })).toThrow(expect.objectContaining({ code: 'KAFKA_OPTIONS' }));
    await createProducer(kafka, { retry: { retries: 1, initialRetryTimeMs: 50 } }).send(uniqueId('missing'), [{ value: 'x' }]).catch(() => undefined);
    expect(records.some((r) => r.level === 'warn' && r.component === 'kafka-producer' && r.msg === 'send failed')).toBe(true);
    expect(records.some((r) => r.component === 'kafka' && typeof r.namespace === 'string')).toBe(true);
  });
});
