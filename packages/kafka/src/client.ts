import { Kafka, logLevel, type Admin, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { KafkaSecurity } from '@flopwatch/runtime';
import { toKafkaPortError } from './errors.js';
import { kafkaLogLevel, pinoLogCreator } from './log-creator.js';
import { clientOptionsSchema, validateOptions } from './options.js';
import { silenceKafkajsNegativeTimeoutWarning } from './node-warnings.js';

/** Internals shared by this package's modules; services never touch them (the port stays swappable). */
export const internals = Symbol('flopwatch.kafka.internals');

export interface ClientInternals {
  kafka: Kafka;
  /** A connected admin client, created on first use and closed with the client. */
  admin(): Promise<Admin>;
  /** A separate kafkajs client with the same connection settings and a small retry budget (start-up probes). */
  probe(): Kafka;
  /** Registers something to close with the client; returns a function that unregisters it. */
  track(close: () => Promise<void>): () => void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** TLS and SASL from configuration (`kafkaSecurity(config)` of @flopwatch/runtime). */
  security?: KafkaSecurity;
  /** Raw kafkajs TLS options; `security` is the usual way. */
  ssl?: boolean | ConnectionOptions;
  /** Raw kafkajs SASL options; `security` is the usual way. */
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
  /** How the client authenticates (no secrets), for log lines and error messages. */
  readonly security: { tls: boolean; sasl: string | null; username?: string };
  readonly log: Logger;
  readonly [internals]: ClientInternals;
  /** Closes the shared admin and every producer and consumer created from this client. */
  close(): Promise<void>;
}

/** Wraps kafkajs' Kafka with pino logging; nothing connects until a producer, consumer or admin call needs it. */
export function createKafkaClient(options: KafkaClientOptions): KafkaClient {
  validateOptions('Kafka client', clientOptionsSchema, options);
  silenceKafkajsNegativeTimeoutWarning();
  const log = options.logger.child({ component: 'kafka' });
  const ssl = options.ssl ?? (options.security?.tls ? tlsOptions(options.security.tls) : undefined);
  const sasl: SASLOptions | undefined = options.sasl ?? (options.security?.sasl as SASLOptions | undefined);
  const connection = {
    clientId: options.clientId,
    brokers: options.brokers,
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
  };
  const kafka = new Kafka({
    ...connection,
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
    security: { tls: ssl !== undefined && ssl !== false, sasl: sasl?.mechanism ?? null, ...(sasl && 'username' in sasl ? { username: sasl.username } : {}) },
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
      probe() {
        return new Kafka({ ...connection, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 } });
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

/** kafkajs TLS options from PEM material; with no CA the system's trusted CAs apply. */
function tlsOptions(tls: { ca?: string; cert?: string; key?: string }): ConnectionOptions | true {
  if (!tls.ca && !tls.cert) return true;
  return { ...(tls.ca ? { ca: [tls.ca] } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) };
}
