import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { internals, type KafkaClient } from './client.js';
import { createBatchConsumer, type ConsumedMessage } from './consumer.js';
import { toKafkaPortError } from './errors.js';

/** The part of one partition a range read covers: offsets `from` (inclusive) to `to` (exclusive). */
export interface PartitionRange {
  partition: number;
  from: string;
  to: string;
}

export interface RangeProgress {
  /** Messages of the range handed to `onMessages` so far. */
  read: number;
  /** Messages the range holds (offset arithmetic; a compacted topic may hold fewer). */
  total: number;
  partitionsDone: number;
  partitions: number;
}

export interface ReadTopicRangeOptions {
  topic: string;
  /** Start each partition at its first message stamped at or after this time (ms); default: the log start. */
  fromTimestamp?: number;
  /** Called with each partition's messages of the range, in offset order; a throw stops the read. */
  onMessages(partition: number, messages: ConsumedMessage[]): Promise<void>;
  onProgress?(progress: RangeProgress): void;
  /** The throwaway consumer group's id (default `flopwatch-range-<random>`); it is deleted afterwards. */
  groupId?: string;
  /** Give up on partitions that deliver nothing for this long (default 30 s); they are reported `incomplete`. */
  idleTimeoutMs?: number;
  log?: Logger;
}

export interface ReadTopicRangeResult {
  ranges: PartitionRange[];
  read: number;
  /** Partitions whose range was not read to its end before the idle timeout (empty when complete). */
  incomplete: PartitionRange[];
}

/**
 * Reads `topic` from the log start (or `fromTimestamp`) to the end offsets it had when the call began,
 * then stops: messages produced meanwhile are not read. kafkajs consumes only in groups, so this runs
 * a throwaway consumer group (`flopwatch-range-…`) that seeks to the start offsets, and deletes the
 * group afterwards. Rejects with the first error `onMessages` throws (after closing the consumer).
 */
export async function readTopicRange(client: KafkaClient, options: ReadTopicRangeOptions): Promise<ReadTopicRangeResult> {
  const { topic } = options;
  const log = (options.log ?? client.log).child({ component: 'kafka-range', topic });
  const admin = await client[internals].admin();
  let ranges: PartitionRange[];
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const starts = options.fromTimestamp === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, options.fromTimestamp);
    ranges = ends
      .map((end) => {
        const byTime = starts?.find((s) => s.partition === end.partition)?.offset;
        const from = byTime !== undefined && BigInt(byTime) > BigInt(end.low) ? byTime : end.low;
        return { partition: end.partition, from: BigInt(from) > BigInt(end.high) ? end.high : from, to: end.high };
      })
      .sort((a, b) => a.partition - b.partition);
  } catch (err) {
    throw toKafkaPortError('KAFKA_ADMIN', 'reading the offsets of the topic failed', err, { topic });
  }

  const total = ranges.reduce((n, r) => n + Number(BigInt(r.to) - BigInt(r.from)), 0);
  // Next offset to read per partition with messages left.
  const pending = new Map(ranges.filter((r) => BigInt(r.from) < BigInt(r.to)).map((r) => [r.partition, BigInt(r.from)]));
  let read = 0;
  const progress = (): void => options.onProgress?.({ read, total, partitionsDone: ranges.length - pending.size, partitions: ranges.length });
  progress();
  if (pending.size === 0) return { ranges, read, incomplete: [] };

  const groupId = options.groupId ?? `flopwatch-range-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  let failure: unknown;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      log.warn({ partitions: [...pending.keys()], idleTimeoutMs }, 'no messages for a while: stopping before the end of these partitions');
      finish();
    }, idleTimeoutMs);
  };

  const consumer = createBatchConsumer(client, {
    groupId,
    topics: [topic],
    fromBeginning: true,
    log,
    onAssigned: (assignments) =>
      assignments.flatMap((a) => {
        const next = pending.get(a.partition);
        return next === undefined ? [] : [{ topic, partition: a.partition, offset: next.toString() }];
      }),
    async onBatch(batch) {
      const next = pending.get(batch.partition);
      if (failure !== undefined || next === undefined) return;
      const end = BigInt(ranges.find((r) => r.partition === batch.partition)!.to);
      const inRange = batch.messages.filter((m) => BigInt(m.offset) >= next && BigInt(m.offset) < end);
      if (inRange.length > 0) {
        try {
          await options.onMessages(batch.partition, inRange);
        } catch (err) {
          failure = err;
          finish();
          return;
        }
        read += inRange.length;
      }
      const last = batch.messages.at(-1);
      const after = last === undefined ? next : BigInt(last.offset) + 1n;
      if (after >= end) pending.delete(batch.partition);
      else pending.set(batch.partition, after > next ? after : next);
      armIdle();
      progress();
      if (pending.size === 0) finish();
    },
  });
  try {
    armIdle();
    await consumer.start();
    await finished;
  } finally {
    clearTimeout(idle);
    await consumer.close();
    await admin.deleteGroups([groupId]).catch((err: unknown) => log.warn({ err, groupId }, 'could not delete the throwaway consumer group'));
  }
  if (failure !== undefined) throw failure;
  const incomplete = ranges.filter((r) => pending.has(r.partition)).map((r) => ({ ...r, from: pending.get(r.partition)!.toString() }));
  return { ranges, read, incomplete };
}

