import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { internals, type KafkaClient } from './client.js';
import { KafkaPortError, toKafkaPortError } from './errors.js';
import { consumerLag, type PartitionLag } from './lag.js';
import { consumerOptionsSchema, validateOptions } from './options.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** Where to start reading a partition: the next offset to read. */
export interface SeekTarget extends TopicPartition {
  offset: string;
}

export interface ConsumedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values; when a key repeats, the last value wins. */
  headers: Record<string, Buffer>;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

export interface ConsumedBatch extends TopicPartition {
  messages: ConsumedMessage[];
  /** Log end offset of the partition when fetched. */
  highWatermark: string;
  /** Tells the coordinator this member is alive; call it during long batches. */
  heartbeat(): Promise<void>;
  /** True when a seek is pending for this partition: the rest of the batch should be dropped. */
  isStale(): boolean;
  /** Aborted when the consumer is closing. */
  signal: AbortSignal;
}

export interface BatchConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  /** Most bytes one fetch response holds, over all its partitions (kafkajs default 10 MiB). */
  maxBytes?: number;
  maxWaitTimeMs?: number;
  /** Partitions processed at once (default 1). */
  concurrency?: number;
  log?: Logger;
  /**
   * Handles one batch of one partition. Resolving commits the batch (last offset + 1); throwing
   * commits nothing and the same messages are fetched again (see createBatchConsumer).
   */
  onBatch(batch: ConsumedBatch): Promise<void>;
  /** Called on every assignment, before any batch of it is handled; may return where to resume. */
  onAssigned?(assignments: TopicPartition[]): Promise<SeekTarget[] | void> | SeekTarget[] | void;
}

export type ConsumerState = 'idle' | 'running' | 'crashed' | 'closed';

export interface ConsumerStats {
  state: ConsumerState;
  /** Group joins after the first: each one is a rebalance this member went through. */
  rebalances: number;
  assignments: TopicPartition[];
  batches: number;
  failedBatches: number;
}

export interface BatchConsumerEvents {
  assigned: [{ assignments: TopicPartition[]; rebalances: number }];
  rebalancing: [];
  committed: [{ topic: string; partition: number; offset: string; messages: number; durationMs: number }];
  batchFailed: [{ topic: string; partition: number; error: KafkaPortError }];
  crash: [{ error: unknown; restart: boolean }];
}

export interface BatchConsumer {
  /** Connects, subscribes and starts consuming; resolves once the consumer runs. */
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Leaves the group after the batch in flight finishes; idempotent. */
  close(): Promise<void>;
  lag(): Promise<PartitionLag[]>;
  stats(): ConsumerStats;
  on<E extends keyof BatchConsumerEvents>(event: E, listener: (...args: BatchConsumerEvents[E]) => void): () => void;
}

/**
 * A consumer-group member that hands whole batches to `onBatch` and commits only after it resolves
 * (at-least-once). kafkajs runs with `autoCommit: false` and `eachBatchAutoResolve: false`; when the
 * handler throws, no offset is resolved or committed, kafkajs' runner retries its fetch loop and
 * fetches again from the last resolved offset — the failed batch is redelivered, to this member or,
 * after a crash/restart or rebalance, to whichever member owns the partition (from the committed
 * offset). A handler that wants to skip a poison message must dead-letter it itself and resolve.
 */
export function createBatchConsumer(client: KafkaClient, options: BatchConsumerOptions): BatchConsumer {
  validateOptions('consumer', consumerOptionsSchema, options);
  const log = (options.log ?? client.log).child({ component: 'kafka-consumer', groupId: options.groupId });
  const consumer: Consumer = client[internals].kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 1_000,
    allowAutoTopicCreation: false,
  });
  const events = new EventEmitter();
  const closeController = new AbortController();
  const stats: ConsumerStats = { state: 'idle', rebalances: 0, assignments: [], batches: 0, failedBatches: 0 };
  let joins = 0;
  // Settles once onAssigned and its seeks are done for the current assignment; batches wait for it.
  let assignmentGate: Promise<void> = Promise.resolve();
  let lastAssignments: TopicPartition[] = [];
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  const applyAssignment = (assignments: TopicPartition[]): Promise<void> => {
    if (!options.onAssigned) return Promise.resolve();
    const gate = (async () => {
      const targets = (await options.onAssigned?.(assignments)) ?? [];
      for (const t of targets) {
        if (!assignments.some((a) => a.topic === t.topic && a.partition === t.partition)) {
          log.warn({ topic: t.topic, partition: t.partition }, 'seek target not assigned, ignored');
          continue;
        }
        consumer.seek({ topic: t.topic, partition: t.partition, offset: t.offset });
        log.info({ topic: t.topic, partition: t.partition, offset: t.offset }, 'seeking to resume point');
      }
    })();
    gate.catch((err: unknown) => log.error({ err }, 'onAssigned failed'));
    return gate;
  };

  const removeListeners = [
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      joins += 1;
      if (joins > 1) stats.rebalances += 1;
      lastAssignments = Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
      stats.assignments = lastAssignments;
      assignmentGate = applyAssignment(lastAssignments);
      log.info({ assignments: lastAssignments, rebalances: stats.rebalances }, 'partitions assigned');
      events.emit('assigned', { assignments: lastAssignments, rebalances: stats.rebalances });
    }),
    consumer.on(consumer.events.REBALANCING, () => {
      log.info('group rebalancing');
      events.emit('rebalancing');
    }),
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) stats.state = 'crashed';
      log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      events.emit('crash', { error: payload.error, restart: payload.restart });
    }),
  ];

  // A failed onAssigned is retried before the next batch: a batch must not run before its seeks.
  const awaitAssignment = async (): Promise<void> => {
    try {
      await assignmentGate;
    } catch {
      assignmentGate = applyAssignment(lastAssignments);
      await assignmentGate;
    }
  };

  const handle = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    const { topic, partition } = batch;
    const started = Date.now();
    try {
      await awaitAssignment();
      // A seek from onAssigned is pending: these messages precede the resume point; kafkajs
      // applies the seek on the next fetch.
      if (payload.isStale() || !payload.isRunning()) return;
      await options.onBatch({
        topic,
        partition,
        highWatermark: batch.highWatermark,
        messages: batch.messages.map(toConsumedMessage),
        heartbeat: () => payload.heartbeat(),
        isStale: () => payload.isStale(),
        signal: closeController.signal,
      });
    } catch (err) {
      stats.failedBatches += 1;
      const error =
        err instanceof KafkaPortError ? err : new KafkaPortError('KAFKA_HANDLER', 'batch handler failed', { cause: err, retryable: true, details: { topic, partition, firstOffset: batch.firstOffset() } });
      log.warn({ err: error, topic, partition, firstOffset: batch.firstOffset() }, 'batch failed, will be redelivered');
      events.emit('batchFailed', { topic, partition, error });
      // Always retriable for kafkajs (a TypeError would otherwise crash the consumer for good):
      // its runner then retries the fetch loop from the last resolved offset.
      throw error;
    }
    const last = batch.lastOffset();
    const next = (BigInt(last) + 1n).toString();
    payload.resolveOffset(last);
    try {
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
    } catch (err) {
      throw toKafkaPortError('KAFKA_COMMIT', 'offset commit failed', err, { topic, partition, offset: next });
    }
    stats.batches += 1;
    events.emit('committed', { topic, partition, offset: next, messages: batch.messages.length, durationMs: Date.now() - started });
  };

  const self: BatchConsumer = {
    start() {
      if (closing) return Promise.reject(new KafkaPortError('KAFKA_CLOSED', 'consumer is closed'));
      starting ??= (async () => {
        try {
          await consumer.connect();
          await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? false });
        } catch (err) {
          starting = undefined;
          throw toKafkaPortError('KAFKA_CONNECT', 'consumer start failed', err, { topics: options.topics });
        }
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: options.concurrency ?? 1,
          eachBatch: handle,
        });
        stats.state = 'running';
        log.info({ topics: options.topics }, 'consumer started');
      })();
      return starting;
    },
    pause() {
      consumer.pause(options.topics.map((topic) => ({ topic })));
    },
    resume() {
      consumer.resume(options.topics.map((topic) => ({ topic })));
    },
    close() {
      closing ??= (async () => {
        untrack();
        closeController.abort(new KafkaPortError('KAFKA_CLOSED', 'consumer is closing'));
        await starting?.catch(() => undefined);
        // disconnect() stops the fetch loop, waits for the batch in flight, and leaves the group.
        await consumer.disconnect();
        for (const remove of removeListeners) remove();
        stats.state = 'closed';
        log.info('consumer closed');
      })();
      return closing;
    },
    lag: () => consumerLag(client, options.groupId, options.topics),
    stats: () => ({ ...stats, assignments: [...stats.assignments] }),
    on(event, listener) {
      events.on(event, listener as (...args: unknown[]) => void);
      return () => void events.off(event, listener as (...args: unknown[]) => void);
    },
  };
  const untrack = client[internals].track(() => self.close());
  return self;
}

function toConsumedMessage(m: KafkaMessage): ConsumedMessage {
  return { offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: normalizeHeaders(m.headers), timestamp: Number(m.timestamp) };
}

function normalizeHeaders(headers: IHeaders | undefined): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = Buffer.isBuffer(last) ? last : Buffer.from(last);
  }
  return out;
}
