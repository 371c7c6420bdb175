import { Kafka, type Admin, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { toKafkaPortError } from './errors.js';
import { kafkaLogLevel, pinoLogCreator } from './log-creator.js';
import { clientOptionsSchema, validateOptions } from './options.js';

/** Internals shared by this package's modules; services never touch them (the port stays swappable). */
export const internals = Symbol('flopwatch.kafka.internals');

export interface ClientInternals {
  kafka: Kafka;
  /** A connected admin client, created on first use and closed with the client. */
  admin(): Promise<Admin>;
  /** Registers something to close with the client; returns a function that unregisters it. */
  track(close: () => Promise<void>): () => void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  ssl?: boolean | ConnectionOptions;
  sasl?: SASLOptions;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** kafkajs retry budget for requests (defaults: 5 retries from 300 ms). */
  retry?: { retries?: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
}

/** A connection to one Kafka cluster; producers and consumers are created from it. */
export interface KafkaClient {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly log: Logger;
  readonly [internals]: ClientInternals;
  /** Closes the shared admin and every producer and consumer created from this client. */
  close(): Promise<void>;
}

/** Wraps kafkajs' Kafka with pino logging; nothing connects until a producer, consumer or admin call needs it. */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  validateOptions('Kafka client', clientOptionsSchema, options);
  const log = options.logger.child({ component: 'kafka' });
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ...(options.ssl === undefined ? {} : { ssl: options.ssl }),
    ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: kafkaLogLevel(log),
    logCreator: pinoLogCreator(log),
    retry: {
      retries: options.retry?.retries ?? 5,
      initialRetryTime: options.retry?.initialRetryTimeMs ?? 300,
      maxRetryTime: options.retry?.maxRetryTimeMs ?? 30_000,
    },
  });

  const closers = new Set<() => Promise<void>>();
  let admin: Promise<Admin> | undefined;
  let closing: Promise<void> | undefined;

  const client: KafkaClient = {
    clientId: options.clientId,
    brokers: [...options.brokers],
    log,
    [internals]: {
      kafka,
      admin() {
        admin ??= (async () => {
          const a = kafka.admin();
          try {
            await a.connect();
          } catch (err) {
            admin = undefined;
            throw toKafkaPortError('KAFKA_CONNECT', 'admin connect failed', err, { brokers: options.brokers });
          }
          return a;
        })();
        return admin;
      },
      track(close) {
        closers.add(close);
        return () => void closers.delete(close);
      },
    },
    close() {
      closing ??= (async () => {
        await Promise.allSettled([...closers].map((c) => c()));
        const a = await admin?.catch(() => undefined);
        await a?.disconnect();
      })();
      return closing;
    },
  };
  return client;
}
