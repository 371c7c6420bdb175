import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isKafkaAuthFailure, KafkaPortError, toKafkaPortError } from '../src/errors.js';

/** kafkajs' protocol error for a broker error code, as its response parsers raise it. */
const protocolError = (type: string, code: number) => new KafkaJSProtocolError({ type, code, retriable: false, message: `${type} from the broker` } as unknown as Error);

describe('toKafkaPortError: refused credentials and ACLs', () => {
  const cases: { name: string; err: () => unknown; code: string; retryable: boolean; auth: boolean }[] = [
    { name: 'an ACL refusing the topic', err: () => protocolError('TOPIC_AUTHORIZATION_FAILED', 29), code: 'KAFKA_AUTHORIZATION', retryable: true, auth: true },
    { name: 'an ACL refusing the cluster (idempotent write)', err: () => protocolError('CLUSTER_AUTHORIZATION_FAILED', 31), code: 'KAFKA_AUTHORIZATION', retryable: true, auth: true },
    { name: 'an ACL refusing the group', err: () => protocolError('GROUP_AUTHORIZATION_FAILED', 30), code: 'KAFKA_AUTHORIZATION', retryable: true, auth: true },
    { name: 'an ACL refusing the transactional id', err: () => protocolError('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53), code: 'KAFKA_AUTHORIZATION', retryable: true, auth: true },
    { name: 'an ACL refusal after kafkajs retries', err: () => new KafkaJSNumberOfRetriesExceeded(protocolError('TOPIC_AUTHORIZATION_FAILED', 29), { retryCount: 5, retryTime: 100 } as never), code: 'KAFKA_AUTHORIZATION', retryable: true, auth: true },
    { name: 'a SASL rejection', err: () => new (KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error)('SASL SCRAM SHA512 authentication failed: invalid credentials'), code: 'KAFKA_AUTH', retryable: true, auth: true },
    { name: 'a SASL_AUTHENTICATION_FAILED answer', err: () => protocolError('SASL_AUTHENTICATION_FAILED', 58), code: 'KAFKA_AUTH', retryable: true, auth: true },
    { name: 'a missing topic', err: () => protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3), code: 'KAFKA_TOPIC_NOT_FOUND', retryable: false, auth: false },
    { name: 'an unreachable broker', err: () => new (KafkaJSConnectionError as unknown as new (message: string) => Error)('Connection error: ECONNREFUSED'), code: 'KAFKA_SEND', retryable: true, auth: false },
    { name: 'a corrupt record', err: () => protocolError('CORRUPT_MESSAGE', 2), code: 'KAFKA_SEND', retryable: false, auth: false },
  ];
  for (const c of cases) {
    it(`maps ${c.name} to ${c.code} (retryable ${c.retryable}${c.auth ? ', held by callers' : ''})`, () => {
      const err = toKafkaPortError('KAFKA_SEND', 'send failed', c.err(), { topic: 't' });
      expect(err).toBeInstanceOf(KafkaPortError);
      expect({ code: err.code, retryable: err.retryable, auth: isKafkaAuthFailure(err) }).toEqual({ code: c.code, retryable: c.retryable, auth: c.auth });
      expect(err.details).toMatchObject({ topic: 't' });
    });
  }

  it('does not take a KafkaPortError of another code, or a plain error, for an auth failure', () => {
    expect(isKafkaAuthFailure(new KafkaPortError('KAFKA_RECORD_TOO_LARGE', 'too large'))).toBe(false);
    expect(isKafkaAuthFailure(Object.assign(new Error('x'), { code: 'KAFKA_AUTH' }))).toBe(false);
  });
});
