import { EventEmitter } from 'node:events';
import type { Consumer, EachBatchPayload, IHeaders, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { internals, type KafkaClient } from './client.js';
import { KafkaPortError, toKafkaPortError } from './errors.js';
import { consumerLag, type PartitionLag } from './lag.js';
import { consumerOptionsSchema, validateOptions } from './options.js';
import { backoff, sleep } from '@flopwatch/runtime';

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
  /** First offset of the batch. */
  firstOffset: string;
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
  /**
   * Fetch a partition's next batch while this one is still being handled (default false). kafkajs
   * fetches again only once every batch of its last fetch is handled, so without this the process idles
   * through each fetch's round trip and through the last batch's slowest step. With it, a batch's
   * offset is *resolved* (kafkajs's read position) as soon as its handler starts, and *committed* only
   * once the handler resolves; kafkajs never commits resolved offsets by itself with `autoCommit` off.
   * One batch per partition is handled at a time, in order, and batches wait while those in the
   * background hold more than `fetchAheadBytes`; each batch's bytes are copied out of the fetch
   * response first, so a slow batch does not keep a whole response alive.
   * A failed batch is not retried by kafkajs (it already moved on): its partition is sought back to the
   * batch's first offset, after a backoff, and the batch behind it is dropped and fetched again.
   */
  fetchAhead?: boolean;
  /** fetchAhead: most bytes of messages handled in the background at once (default 2 × maxBytes). */
  fetchAheadBytes?: number;
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
  /** fetchAhead: batches that arrived while earlier batches were still being handled in the background. */
  fetchedAhead: number;
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
  const stats: ConsumerStats = { state: 'idle', rebalances: 0, assignments: [], batches: 0, failedBatches: 0, fetchedAhead: 0 };
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

  const failed = (topic: string, partition: number, firstOffset: string, err: unknown): KafkaPortError => {
    stats.failedBatches += 1;
    const error = err instanceof KafkaPortError ? err : new KafkaPortError('KAFKA_HANDLER', 'batch handler failed', { cause: err, retryable: true, details: { topic, partition, firstOffset } });
    log.warn({ err: error, topic, partition, firstOffset }, 'batch failed, will be redelivered');
    events.emit('batchFailed', { topic, partition, error });
    return error;
  };

  const commit = async (payload: EachBatchPayload, topic: string, partition: number, last: string): Promise<string> => {
    const next = (BigInt(last) + 1n).toString();
    try {
      await payload.commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition, offset: next }] }] });
    } catch (err) {
      throw toKafkaPortError('KAFKA_COMMIT', 'offset commit failed', err, { topic, partition, offset: next });
    }
    return next;
  };

  const toBatch = (payload: EachBatchPayload): ConsumedBatch => {
    const { batch } = payload;
    return {
      topic: batch.topic,
      partition: batch.partition,
      firstOffset: batch.firstOffset() ?? '0',
      highWatermark: batch.highWatermark,
      messages: batch.messages.map(toConsumedMessage),
      heartbeat: () => payload.heartbeat(),
      isStale: () => payload.isStale(),
      signal: closeController.signal,
    };
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
      await options.onBatch(toBatch(payload));
    } catch (err) {
      // Always retriable for kafkajs (a TypeError would otherwise crash the consumer for good):
      // its runner then retries the fetch loop from the last resolved offset.
      throw failed(topic, partition, batch.firstOffset() ?? '?', err);
    }
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    const next = await commit(payload, topic, partition, last);
    stats.batches += 1;
    events.emit('committed', { topic, partition, offset: next, messages: batch.messages.length, durationMs: Date.now() - started });
  };

  // fetchAhead: the batch of each partition still being handled in the background. Its promise never
  // rejects; it settles once the batch is committed, or has failed and its partition was sought back.
  const inFlight = new Map<string, Promise<void>>();
  // Bytes of the batches in the background; a batch waits while they exceed the budget (one batch at
  // least always runs), so a backlog holds about the budget plus the fetch that arrived meanwhile.
  const budget = options.fetchAheadBytes ?? (options.maxBytes ?? 10 * 1_048_576) * 2;
  let inFlightBytes = 0;
  let budgetWaiters: (() => void)[] = [];
  const bytesFreed = (): void => {
    const waiting = budgetWaiters;
    budgetWaiters = [];
    for (const wake of waiting) wake();
  };
  const failures = new Map<string, number>();
  const retryDelay = backoff({ initialMs: 100, maxMs: 5_000 });

  const handleAhead = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    const { topic, partition } = batch;
    const key = `${topic}|${partition}`;
    // Before anything waits: the batch's bytes move out of the fetch's buffer, which a single
    // message left pointing into it would keep whole while this partition's earlier batches run.
    const bytes = detachFromFetch(batch);
    if (inFlight.size > 0) stats.fetchedAhead += 1;
    await awaitAssignment();
    // One batch of a partition at a time, in order. If the one before failed, its partition was sought
    // back and this batch is stale: it is dropped here and fetched again after the failed one.
    await inFlight.get(key);
    while (inFlightBytes > 0 && inFlightBytes + bytes > budget && !closeController.signal.aborted) {
      await new Promise<void>((resolve) => budgetWaiters.push(resolve));
    }
    if (payload.isStale() || !payload.isRunning() || closeController.signal.aborted) return;
    const started = Date.now();
    const consumed = toBatch(payload);
    const last = batch.lastOffset();
    // kafkajs's next fetch of this partition starts after this batch; nothing is committed yet.
    payload.resolveOffset(last);
    inFlightBytes += bytes;
    const job = (async () => {
      try {
        await options.onBatch(consumed);
        const next = await commit(payload, topic, partition, last);
        failures.delete(key);
        stats.batches += 1;
        events.emit('committed', { topic, partition, offset: next, messages: consumed.messages.length, durationMs: Date.now() - started });
      } catch (err) {
        failed(topic, partition, consumed.firstOffset, err);
        if (closeController.signal.aborted) return; // closing: the committed offset is where the next owner starts
        const attempt = failures.get(key) ?? 0;
        failures.set(key, attempt + 1);
        await sleep(retryDelay(attempt), closeController.signal).catch(() => {});
        if (closeController.signal.aborted) return;
        try {
          consumer.seek({ topic, partition, offset: consumed.firstOffset });
        } catch (seekErr) {
          log.warn({ err: seekErr, topic, partition, offset: consumed.firstOffset }, 'seek back after a failed batch failed; the partition resumes from its committed offset on the next assignment');
        }
      } finally {
        inFlightBytes -= bytes;
        bytesFreed();
      }
    })();
    inFlight.set(key, job);
    void job.finally(() => {
      if (inFlight.get(key) === job) inFlight.delete(key);
    });
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
          eachBatch: options.fetchAhead ? handleAhead : handle,
        });
        stats.state = 'running';
        log.info({ topics: options.topics }, 'consumer started');
      })();
      return starting;
    },
    close() {
      closing ??= (async () => {
        untrack();
        closeController.abort(new KafkaPortError('KAFKA_CLOSED', 'consumer is closing'));
        bytesFreed(); // batches waiting for the budget see the abort and drop out
        await starting?.catch(() => undefined);
        // Batches handled in the background finish (or fail on the abort) and commit while this
        // member still owns their partitions.
        await Promise.all(inFlight.values());
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

/**
 * Copies a batch's keys, values and header values into one buffer of its own and points kafkajs's
 * message objects at it; returns its size. kafkajs's messages are views into the whole fetch response,
 * so one message kept alive keeps the whole response (up to FETCH_MAX_BYTES). `rawMessages` (kafkajs
 * 2.2.4's Batch keeps the messages it filtered out there too, and its runner keeps the last message)
 * is walked as well: those are the same objects, plus any filtered ones.
 */
function detachFromFetch(batch: EachBatchPayload['batch']): number {
  const all = (batch as unknown as { rawMessages?: KafkaMessage[] }).rawMessages ?? batch.messages;
  let size = 0;
  for (const m of all) {
    size += (m.key?.length ?? 0) + (m.value?.length ?? 0);
    for (const name in m.headers) {
      const v = m.headers[name];
      if (Buffer.isBuffer(v)) size += v.length;
      else if (Array.isArray(v)) for (const x of v) if (Buffer.isBuffer(x)) size += x.length;
    }
  }
  const own = Buffer.allocUnsafeSlow(size);
  let at = 0;
  const take = (b: Buffer): Buffer => {
    b.copy(own, at);
    const view = own.subarray(at, at + b.length);
    at += b.length;
    return view;
  };
  for (const m of all as Array<{ key: Buffer | null; value: Buffer | null; headers?: IHeaders }>) {
    if (m.key) m.key = take(m.key);
    if (m.value) m.value = take(m.value);
    for (const name in m.headers) {
      const v = m.headers[name];
      if (Buffer.isBuffer(v)) m.headers[name] = take(v);
      else if (Array.isArray(v)) m.headers[name] = v.map((x) => (Buffer.isBuffer(x) ? take(x) : x));
    }
  }
  return size;
}
