import { AppError, type AppErrorOptions } from '@flopwatch/runtime';

export const KAFKA_ERROR_CODES = [
  'KAFKA_OPTIONS', // invalid options passed to a factory
  'KAFKA_CONNECT', // could not connect to the cluster
  'KAFKA_AUTH', // SASL rejected the credentials, or the broker expects TLS/SASL the client does not use
  'KAFKA_AUTHORIZATION', // an ACL refused the operation (topic, cluster, group or transactional id)
  'KAFKA_TLS', // the TLS handshake failed (unknown CA, wrong host, missing client certificate)
  'KAFKA_SEND', // a produce request failed
  'KAFKA_RECORD_TOO_LARGE', // records larger than the topic's max.message.bytes were not sent (the others were); never retryable
  'KAFKA_TOPIC', // topic administration failed
  'KAFKA_TOPIC_NOT_FOUND', // the topic does not exist (and is not auto-created)
  'KAFKA_COMMIT', // committing offsets failed
  'KAFKA_HANDLER', // the batch handler threw; the batch will be redelivered
  'KAFKA_ADMIN', // an admin request (offsets, lag) failed
  'KAFKA_CLOSED', // used after close()
] as const;
export type KafkaErrorCode = (typeof KAFKA_ERROR_CODES)[number];

/** Every error this package throws. */
export class KafkaPortError extends AppError<KafkaErrorCode> {
  constructor(code: KafkaErrorCode, message: string, options: AppErrorOptions = {}) {
    super(code, message, options);
  }
}

interface KafkaJsErrorShape {
  name?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  message?: string;
}

/** Walks kafkajs' cause chain (retries wrap the protocol error) and returns every link. */
function chain(err: unknown): KafkaJsErrorShape[] {
  const links: KafkaJsErrorShape[] = [];
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && links.length < 10) {
    links.push(current as KafkaJsErrorShape);
    const shape = current as KafkaJsErrorShape & { originalError?: unknown };
    current = shape.cause ?? shape.originalError;
  }
  return links;
}

const NOT_FOUND_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);
const AUTHORIZATION_TYPES = new Set(['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/** Whether the chain holds a SASL rejection ('KAFKA_AUTH') or an ACL refusal ('KAFKA_AUTHORIZATION'). */
function authFailure(links: KafkaJsErrorShape[]): 'KAFKA_AUTH' | 'KAFKA_AUTHORIZATION' | undefined {
  if (links.some((l) => l.name === 'KafkaJSSASLAuthenticationError' || l.type === 'SASL_AUTHENTICATION_FAILED')) return 'KAFKA_AUTH';
  if (links.some((l) => l.type !== undefined && AUTHORIZATION_TYPES.has(l.type))) return 'KAFKA_AUTHORIZATION';
  return undefined;
}

/**
 * Maps a kafkajs error to a KafkaPortError: a missing topic becomes KAFKA_TOPIC_NOT_FOUND (not
 * retryable — it will not appear by itself); a SASL rejection (a rotated password) becomes KAFKA_AUTH
 * and an ACL refusal KAFKA_AUTHORIZATION, both retryable once an operator has fixed the credentials
 * or the ACL (`isKafkaAuthFailure`: callers hold their work instead of dropping it); others keep
 * `code` and take kafkajs' retriable flag (exhausted retries of a retriable failure stay retryable: a
 * later attempt may succeed).
 */
export function toKafkaPortError(code: KafkaErrorCode, message: string, err: unknown, details?: Record<string, unknown>): KafkaPortError {
  if (err instanceof KafkaPortError) return err;
  const links = chain(err);
  const type = links.find((l) => typeof l.type === 'string')?.type;
  if (type && NOT_FOUND_TYPES.has(type)) {
    return new KafkaPortError('KAFKA_TOPIC_NOT_FOUND', `${message}: topic does not exist`, { cause: err, retryable: false, details: { ...details, kafkaType: type } });
  }
  const auth = authFailure(links);
  if (auth) {
    const why = links.find((l) => l.message)?.message ?? (auth === 'KAFKA_AUTH' ? 'authentication failed' : 'not authorized');
    return new KafkaPortError(auth, `${message}: ${why}`, { cause: err, retryable: true, details: { ...details, ...(type ? { kafkaType: type } : {}) } });
  }
  const first = links[0];
  const retryable =
    first?.name === 'KafkaJSNonRetriableError'
      ? false
      : first?.name === 'KafkaJSNumberOfRetriesExceeded'
        ? links.slice(1).every((l) => l.retriable !== false)
        : first?.retriable ?? true;
  return new KafkaPortError(code, message, { cause: err, retryable, details: { ...details, ...(type ? { kafkaType: type } : {}) } });
}

/**
 * Whether `err` is Kafka refusing the client's credentials (KAFKA_AUTH) or an ACL refusing the
 * operation (KAFKA_AUTHORIZATION): nothing passes until an operator acts, and then everything does,
 * so the work is held, never dead-lettered.
 */
export function isKafkaAuthFailure(err: unknown): boolean {
  return err instanceof KafkaPortError && (err.code === 'KAFKA_AUTH' || err.code === 'KAFKA_AUTHORIZATION');
}

/** A record no produce request to the topic can carry: its index in the send, and its batch's bytes. */
export interface TooLargeRecord {
  index: number;
  bytes: number;
}

/** What a KAFKA_RECORD_TOO_LARGE error carries in `details`. */
export interface RecordsTooLarge {
  topic: string;
  /** The topic's max.message.bytes the records were measured against. */
  limit: number;
  /** The records not sent, by their index in the send's message array, in order. */
  records: TooLargeRecord[];
  /** Messages of the send that were written (all the others). */
  sent: number;
}

/**
 * The records a send left out because no request could carry them, when `err` is the
 * KAFKA_RECORD_TOO_LARGE error of `KafkaProducer.send` (every other message of the send was
 * written); undefined for any other error.
 */
export function recordsTooLarge(err: unknown): RecordsTooLarge | undefined {
  if (!(err instanceof KafkaPortError) || err.code !== 'KAFKA_RECORD_TOO_LARGE') return undefined;
  return err.details as unknown as RecordsTooLarge;
}
