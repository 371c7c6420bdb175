// (d) of the ingest benchmark: the pipeline a user would write in an afternoon, to compare with.
// kafkajs eachBatch, JSON.parse, a few typeof checks, the estimate, two HINCRBYFLOAT per event in
// one Redis pipeline per batch. No exactness (a redelivered batch counts twice), no dead letters
// (a bad message is skipped), no lateness, no rules, no alerts.
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { UsageEvent } from '@flopwatch/contracts';
import { DEFAULT_POLICY_PATH, estimateOperations, loadPolicyPack } from '@flopwatch/policy';

export interface NaiveOptions {
  kafka: Kafka;
  redisUrl: string;
  topic: string;
  groupId: string;
  /** Key prefix of its counters, removed by the benchmark afterwards. */
  prefix: string;
  /** Events the topic holds: the run ends when this many are consumed. */
  events: number;
  /** Partitions processed at once, as the ingest does. */
  concurrency: number;
}

/** Consumes the topic from the beginning; events/s from the first batch to the last, and its CPU seconds. */
export async function naiveConsume(o: NaiveOptions): Promise<{ eventsPerSecond: number; cpuSeconds: number; concurrency: number }> {
  const pack = loadPolicyPack(DEFAULT_POLICY_PATH);
  const redis = new Redis(o.redisUrl);
  const consumer = o.kafka.consumer({ groupId: o.groupId, maxBytesPerPartition: 1_048_576 });
  await consumer.connect();
  await consumer.subscribe({ topic: o.topic, fromBeginning: true });
  let count = 0;
  let first = 0;
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  let finished = 0;
  let cpuAtEnd: NodeJS.CpuUsage | undefined;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: o.concurrency,
      eachBatch: async ({ batch }) => {
        if (first === 0) {
          first = performance.now();
          cpuAtFirst = process.cpuUsage();
        }
        const tx = redis.pipeline();
        for (const m of batch.messages) {
          let e: UsageEvent;
          try {
            e = JSON.parse(m.value!.toString()) as UsageEvent;
          } catch {
            continue;
          }
          const d = e?.data;
          if (typeof d?.tenantId !== 'string' || typeof d.accelerator?.model !== 'string' || typeof d.accelerator.count !== 'number') continue;
          if (typeof d.interval?.start !== 'string' || typeof d.interval.end !== 'string') continue;
          let operations: number;
          try {
            operations = estimateOperations(e, pack).operations;
          } catch {
            continue; // unknown accelerator
          }
          tx.hincrbyfloat(`${o.prefix}tenant:${d.tenantId}`, 'ops', operations);
          tx.hincrbyfloat(`${o.prefix}job:${d.tenantId}`, d.jobId, operations);
        }
        await tx.exec();
        count += batch.messages.length;
        if (count >= o.events && finished === 0) {
          finished = performance.now();
          cpuAtEnd = process.cpuUsage(cpuAtFirst);
          resolve();
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  redis.disconnect();
  return { eventsPerSecond: o.events / ((finished - first) / 1000), cpuSeconds: (cpuAtEnd!.user + cpuAtEnd!.system) / 1e6, concurrency: o.concurrency };
}
