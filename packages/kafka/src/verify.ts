import type { KafkaDriver } from '@flopwatch/runtime';
import { createKafkaClient, internals, type KafkaClient } from './client.js';
import { KafkaPortError } from './errors.js';

interface ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

function links(err: unknown): ErrorShape[] {
  const out: ErrorShape[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    const shape = e as ErrorShape;
    out.push(shape);
    queue.push(shape.cause, shape.originalError);
  }
  return out;
}

/** Node's TLS verification failures and OpenSSL handshake errors: a setting is wrong, retrying won't help. */
export function isTlsFailure(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ISSUER/.test(code)
  );
}

export interface VerifyResult {
  /** The cluster answered with these settings. */
  ok: boolean;
  /** Why not, when the cause may pass (broker down or restarting): the caller carries on and retries later. */
  transient?: string;
}

/**
 * Connects once with the client's settings and asks for the cluster's metadata. A SASL rejection, a TLS
 * failure, or a broker that hangs up on every attempt (it expects TLS or SASL the client does not
 * speak) throws a non-retryable KAFKA_AUTH / KAFKA_TLS error whose message names the connection and
 * the settings to check; an unreachable broker returns `{ ok: false, transient }` so a service can
 * start and retry as it always has. Never includes a password.
 */
export async function verifyKafkaConnection(client: KafkaClient): Promise<VerifyResult> {
  const admin = client[internals].probe().admin();
  const sec = client.security;
  const how = [sec.tls ? 'TLS' : 'plaintext', sec.sasl ? `SASL ${sec.sasl}${sec.username ? ` as ${sec.username}` : ''}` : 'no SASL'].join(', ');
  const name = `Kafka (${client.brokers.join(',')}, ${how})`;
  try {
    await admin.connect();
    await admin.describeCluster();
    return { ok: true };
  } catch (err) {
    const chain = links(err);
    const details = { brokers: client.brokers, tls: sec.tls, sasl: sec.sasl, ...(sec.username ? { username: sec.username } : {}) };
    const sasl = chain.find((l) => l.name === 'KafkaJSSASLAuthenticationError');
    if (sasl) {
      throw new KafkaPortError('KAFKA_AUTH', `${name}: authentication failed (${sasl.message ?? 'rejected'}); check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`, { retryable: false, details });
    }
    const tls = chain.find((l) => isTlsFailure(l.code));
    if (tls) {
      throw new KafkaPortError('KAFKA_TLS', `${name}: TLS handshake failed (${tls.code}: ${tls.message?.replace(/^Connection error: /, '')}); check KAFKA_TLS, KAFKA_TLS_CA_FILE, KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE`, { retryable: false, details });
    }
    const message = chain.map((l) => l.message ?? '').find((m) => m.length > 0) ?? String(err);
    if (chain.some((l) => /closed by the server|closed connection|Connection closed/i.test(l.message ?? ''))) {
      throw new KafkaPortError('KAFKA_AUTH', `${name}: the broker closed every connection (${message}); it probably expects TLS or SASL: check KAFKA_TLS and KAFKA_SASL_MECHANISM`, { retryable: false, details });
    }
    return { ok: false, transient: `${name}: ${message}` };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** How a service's connectInfra() (@flopwatch/runtime) creates, checks and closes its Kafka client. */
export const kafkaDriver: KafkaDriver<KafkaClient> = {
  create: createKafkaClient,
  verify: verifyKafkaConnection,
  close: (client) => client.close(),
};
