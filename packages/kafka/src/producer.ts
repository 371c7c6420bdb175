import { CompressionTypes, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { internals, type KafkaClient } from './client.js';
import { KafkaPortError, toKafkaPortError } from './errors.js';

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
  /** Sends messages to one topic and resolves once every replica in sync has them (acks=all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<SendResult[]>;
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
  let connecting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const untrack = client[internals].track(() => self.close());

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
      try {
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
      } catch (err) {
        const error = toKafkaPortError('KAFKA_SEND', 'send failed', err, { topic, count: messages.length });
        log.warn({ err: error, topic }, 'send failed');
        throw error;
      }
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
