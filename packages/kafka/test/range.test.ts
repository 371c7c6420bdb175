import { afterAll, describe, expect, it } from 'vitest';
import { freshTopics, testKafka, uniqueId } from '@flopwatch/test-harness';
import { createProducer, deleteTopics, readTopicRange, type ConsumedMessage } from '../src/index.js';
import { testClient } from './helpers.js';

const client = testClient();
const created: string[] = [];

afterAll(async () => {
  await deleteTopics(client, created);
  await client.close();
});

/** A fresh 3-partition topic with one message per stamp (ms), written round-robin over the partitions. */
async function topicWith(stamps: number[]): Promise<string> {
  const [topic] = await freshTopics(['range']);
  created.push(topic);
  const producer = createProducer(client);
  await producer.send(topic, stamps.map((timestamp, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3, timestamp })));
  await producer.close();
  return topic;
}

async function groups(): Promise<string[]> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.listGroups()).groups.map((g) => g.groupId);
  } finally {
    await admin.disconnect();
  }
}

describe('readTopicRange', () => {
  it('reads every partition to the end it had at the start, then stops and removes its group', async () => {
    const now = Date.now();
    const topic = await topicWith(Array.from({ length: 30 }, (_, i) => now - (30 - i) * 1000));
    const seen: ConsumedMessage[] = [];
    let wroteMore = false;
    const progress: number[] = [];
    const groupId = uniqueId('flopwatch-range-test');
    const result = await readTopicRange(client, {
      topic,
      groupId,
      onProgress: (p) => progress.push(p.read),
      async onMessages(_partition, messages) {
        seen.push(...messages);
        if (!wroteMore) {
          // Messages produced during the read lie beyond the range and are not read.
          wroteMore = true;
          const producer = createProducer(client);
          await producer.send(topic, [0, 1, 2].map((p) => ({ value: 'late', partition: p })));
          await producer.close();
        }
      },
    });
    expect(result.read).toBe(30);
    expect(result.incomplete).toEqual([]);
    expect(result.ranges).toEqual([0, 1, 2].map((partition) => ({ partition, from: '0', to: '10' })));
    expect(seen.map((m) => m.value?.toString()).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `v${i}`).sort());
    expect(progress.at(0)).toBe(0);
    expect(progress.at(-1)).toBe(30);
    expect(await groups()).not.toContain(groupId);
  });

  it('starts each partition at its first message stamped at or after fromTimestamp', async () => {
    const now = Date.now();
    // i = 0..11 stamped now - (12 - i) minutes; from now - 4.5 min: i = 8..11, partitions 2, 0, 1, 2.
    const topic = await topicWith(Array.from({ length: 12 }, (_, i) => now - (12 - i) * 60_000));
    const seen: string[] = [];
    const result = await readTopicRange(client, {
      topic,
      fromTimestamp: now - 4.5 * 60_000,
      async onMessages(_p, messages) {
        seen.push(...messages.map((m) => m.value!.toString()));
      },
    });
    expect(seen.sort()).toEqual(['v10', 'v11', 'v8', 'v9']);
    expect(result.ranges).toEqual([
      { partition: 0, from: '3', to: '4' },
      { partition: 1, from: '3', to: '4' },
      { partition: 2, from: '2', to: '4' },
    ]);
  });

  it('returns at once for an empty range and rethrows what onMessages throws', async () => {
    const topic = await topicWith([Date.now() - 1000, Date.now() - 1000]);
    const empty = await readTopicRange(client, { topic, fromTimestamp: Date.now() + 60_000, onMessages: () => Promise.reject(new Error('never called')) });
    expect(empty.read).toBe(0);
    const groupId = uniqueId('flopwatch-range-test');
    await expect(readTopicRange(client, { topic, groupId, onMessages: () => Promise.reject(new Error('handler broke')) })).rejects.toThrow('handler broke');
    expect(await groups()).not.toContain(groupId);
  });
});
