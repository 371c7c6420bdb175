import { CompressionTypes, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { internals, type KafkaClient } from './client.js';
import { KafkaPortError, recordsTooLarge, toKafkaPortError, type RecordsTooLarge, type TooLargeRecord } from './errors.js';
import { createMessageLimits } from './limits.js';
import { nextRequest, RECORD_BATCH_OVERHEAD, singleRecordBatchBytes, sizeMessages } from './record-size.js';

export interface OutgoingMessage {
  key?: string | Buffer | null;
  value: Buffer | string;
  headers?: Record<string, string | Buffer>;
  /** Explicit partition; otherwise the key's murmur2 hash picks it (Java client compatible). */
  partition?: number;
  /** Milliseconds since the epoch; default: now. */
  timestamp?: number;
}

export interface SendResult {
  topic: string;
  partition: number;
  baseOffset: string;
}

export interface ProducerOptions {
  /** Idempotent producer (acks=all, one request in flight): broker-side dedup of retried sends. */
  idempotent?: boolean;
  log?: Logger;
  compression?: 'none' | 'gzip';
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
}

export interface KafkaProducer {
  connect(): Promise<void>;
  /**
   * Sends messages to one topic and resolves once every replica in sync has them (acks=all). The
   * messages are split into requests whose record batches fit the topic's `max.message.bytes` (read
   * from the broker), sent one after another in order. A record too large for any request is not
   * sent: once the others are, the send throws a non-retryable KAFKA_RECORD_TOO_LARGE whose details
   * (`recordsTooLarge(err)`) name it by index. Any other failure throws with `details.sent` messages
   * already written (a send again repeats them: consumers must take duplicates).
   */
  send(topic: string, messages: OutgoingMessage[]): Promise<SendResult[]>;
  /**
   * The messages no request to `topic` can carry (their single-record batch exceeds the limit; the
   * limit is read again before any is named), without sending anything: for callers that must refuse
   * a whole batch before any of it is written.
   */
  tooLarge(topic: string, messages: OutgoingMessage[]): Promise<{ limit: number; records: TooLargeRecord[] }>;
  close(): Promise<void>;
}

/** A producer; idempotent by default. Topics are never auto-created by sending. */
export function createProducer(client: KafkaClient, options: ProducerOptions = {}): KafkaProducer {
  const idempotent = options.idempotent ?? true;
  const log = (options.log ?? client.log).child({ component: 'kafka-producer' });
  if (idempotent && options.retry?.retries === 0) {
    throw new KafkaPortError('KAFKA_OPTIONS', 'invalid producer options: an idempotent producer needs retries >= 1', { details: { retries: 0 } });
  }
  const producer: Producer = client[internals].kafka.producer({
    idempotent,
    // kafkajs requires maxInFlightRequests 1 for ordering guarantees of an idempotent producer.
    ...(idempotent ? { maxInFlightRequests: 1 } : {}),
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(options.retry
      ? { retry: { retries: options.retry.retries, initialRetryTime: options.retry.initialRetryTimeMs, maxRetryTime: options.retry.maxRetryTimeMs } }
      : {}),
  });
  const compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  const gzip = compression === CompressionTypes.GZIP;
  const limits = createMessageLimits(client, log);
  /** One produce request (kafkajs groups the messages by partition, one batch each). */
  const produce = async (topic: string, messages: OutgoingMessage[]): Promise<SendResult[]> => {
    const metadata = await producer.send({
      topic,
      acks: -1,
      compression,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: m.value,
        ...(m.headers ? { headers: m.headers } : {}),
        ...(m.partition === undefined ? {} : { partition: m.partition }),
        ...(m.timestamp === undefined ? {} : { timestamp: String(m.timestamp) }),
      })),
    });
    return metadata.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: r.baseOffset ?? r.offset ?? '-1' }));
  };
  let connecting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const untrack = client[internals].track(() => self.close());

  /** The send itself: requests within the topic's limit, one after another. */
  const sendBounded = async (topic: string, messages: OutgoingMessage[]): Promise<SendResult[]> => {
    const sized = sizeMessages(messages, gzip);
    let limit = await limits.get(topic);
    // The bytes a request may take: the limit, halved when the broker refuses what the estimate says fits.
    let budget = limit.bytes;
    let reread = false;
    const reread1 = async () => {
      reread = true;
      limit = await limits.refresh(topic);
      budget = limit.bytes;
    };
    const results: SendResult[] = [];
    const tooLarge: TooLargeRecord[] = [];
    let sent = 0;
    let requests = 0;
    // Requests go one after another (never in parallel), each a contiguous slice of the messages:
    // a partition's messages keep their order.
    for (let start = 0; start < messages.length; ) {
      let next = nextRequest(sized, start, budget);
      if (next.count === 0 && next.bytes <= limit.bytes) next = { count: 1, bytes: next.bytes };
      if (next.count === 0) {
        // Read the limit again before naming a record too large: it may have been raised.
        if (!reread) {
          await reread1();
          continue;
        }
        tooLarge.push({ index: start, bytes: next.bytes });
        log.warn({ topic, index: start, bytes: next.bytes, maxMessageBytes: limit.bytes }, 'record larger than the topic accepts; not sent');
        start += 1;
        continue;
      }
      const slice = messages.slice(start, start + next.count);
      try {
        results.push(...(await produce(topic, slice)));
        requests += 1;
        sent += slice.length;
        start += next.count;
      } catch (err) {
        if (!isMessageTooLarge(err)) throw toKafkaPortError('KAFKA_SEND', 'send failed', err, { topic, count: messages.length, sent });
        // The topic's limit was lowered since it was read, or cannot be read (the fallback is
        // wrong): read it again once, then halve the budget until the broker takes the requests. A
        // record refused alone after that is too large. (A request to several partitions may have
        // been written for some of them before the refusal: those messages are sent again.)
        log.warn({ topic, count: slice.length, estimatedBytes: next.bytes, maxMessageBytes: limit.bytes, source: limit.source }, 'broker refused a request as too large; re-planning');
        if (!reread) await reread1();
        else if (slice.length === 1) {
          tooLarge.push({ index: start, bytes: next.bytes });
          log.warn({ topic, index: start, bytes: next.bytes, maxMessageBytes: limit.bytes }, 'record refused by the broker as too large; not sent');
          start += 1;
        } else budget = Math.max(RECORD_BATCH_OVERHEAD + 1, Math.floor(next.bytes / 2));
      }
    }
    if (requests > 1) log.debug({ topic, messages: messages.length, requests, maxMessageBytes: limit.bytes }, 'send split into requests by the topic limit');
    if (tooLarge.length > 0) {
      const details: RecordsTooLarge = { topic, limit: limit.bytes, records: tooLarge, sent };
      throw new KafkaPortError(
        'KAFKA_RECORD_TOO_LARGE',
        `${tooLarge.length} of ${messages.length} records exceed the ${limit.bytes}-byte max.message.bytes of topic ${topic} and were not sent (the others were); first: message[${tooLarge[0]!.index}] of ${tooLarge[0]!.bytes} bytes`,
        { retryable: false, details: details as unknown as Record<string, unknown> },
      );
    }
    return results;
  };

  const self: KafkaProducer = {
    connect() {
      if (closing) return Promise.reject(new KafkaPortError('KAFKA_CLOSED', 'producer is closed'));
      connecting ??= producer.connect().then(
        () => log.debug({ idempotent }, 'producer connected'),
        (err: unknown) => {
          connecting = undefined;
          throw toKafkaPortError('KAFKA_CONNECT', 'producer connect failed', err, { brokers: client.brokers });
        },
      );
      return connecting;
    },
    async send(topic, messages) {
      if (closing) throw new KafkaPortError('KAFKA_CLOSED', 'producer is closed', { details: { topic } });
      await self.connect();
      if (messages.length === 0) return [];
      try {
        return await sendBounded(topic, messages);
      } catch (err) {
        if (recordsTooLarge(err)) throw err;
        const error = toKafkaPortError('KAFKA_SEND', 'send failed', err, { topic, count: messages.length });
        log.warn({ err: error, topic }, 'send failed');
        throw error;
      }
    },
    async tooLarge(topic, messages) {
      if (messages.length === 0) return { limit: (await limits.get(topic)).bytes, records: [] };
      const sized = sizeMessages(messages, gzip);
      const oversized = (limit: number): TooLargeRecord[] =>
        sized.content.flatMap((content, index) => {
          const bytes = singleRecordBatchBytes(content, gzip);
          return bytes > limit ? [{ index, bytes }] : [];
        });
      const cached = (await limits.get(topic)).bytes;
      const first = oversized(cached);
      if (first.length === 0) return { limit: cached, records: [] };
      const limit = (await limits.refresh(topic)).bytes;
      return { limit, records: oversized(limit) };
    },
    close() {
      closing ??= (async () => {
        untrack();
        await connecting?.catch(() => undefined);
        await producer.disconnect();
        log.debug('producer closed');
      })();
      return closing;
    },
  };
  return self;
}

const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** Whether kafkajs' error (or one it wraps) is the broker refusing a batch as too large. */
function isMessageTooLarge(err: unknown): boolean {
  for (let e: unknown = err, i = 0; typeof e === 'object' && e !== null && i < 10; i++) {
    const shape = e as { type?: string; cause?: unknown; originalError?: unknown };
    if (shape.type !== undefined && TOO_LARGE_TYPES.has(shape.type)) return true;
    e = shape.originalError ?? shape.cause;
  }
  return false;
}
