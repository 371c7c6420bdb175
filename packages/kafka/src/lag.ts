import { sleep } from '@flopwatch/runtime';
import { internals, type KafkaClient } from './client.js';
import { toKafkaPortError } from './errors.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset (next offset to read), or null when it has committed none. */
  committed: string | null;
  /** Log end offset. */
  high: string;
  low: string;
  /** Messages not yet committed by the group (from the log start when nothing is committed). */
  lag: number;
}

/** Per-partition lag of a consumer group on the given topics. */
export async function consumerLag(client: KafkaClient, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  try {
    const admin = await client[internals].admin();
    const committed = await admin.fetchOffsets({ groupId, topics });
    const result: PartitionLag[] = [];
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const offset = group.find((p) => p.partition === end.partition)?.offset;
        const has = offset !== undefined && BigInt(offset) >= 0n;
        const from = has ? BigInt(offset) : BigInt(end.low);
        const lag = BigInt(end.high) - from;
        result.push({ topic, partition: end.partition, committed: has ? offset : null, high: end.high, low: end.low, lag: Number(lag < 0n ? 0n : lag) });
      }
    }
    return result.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  } catch (err) {
    throw toKafkaPortError('KAFKA_ADMIN', 'fetching consumer lag failed', err, { groupId, topics });
  }
}

/** Polls the consumer group's lag on `topic` until it is zero. */
export async function waitForDrain(kafka: KafkaClient, groupId: string, topic: string, opts: { timeoutMs?: number; onLag?: (lag: number) => void } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const lag = (await consumerLag(kafka, groupId, [topic])).reduce((sum, p) => sum + p.lag, 0);
    opts.onLag?.(lag);
    if (lag === 0) return;
    if (Date.now() > deadline) throw new Error(`consumer group ${groupId} still has ${lag} messages to read on ${topic}`);
    await sleep(250);
  }
}
