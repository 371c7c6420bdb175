// Settings of the secured connections every service shares: Kafka TLS and SASL, Redis TLS and
// credentials. Services spread these into their config schema (`...kafkaSecurityEnv`), and main.ts turns
// the parsed values into client options with kafkaSecurity() / redisSecurity(), which read the PEM files.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config.js';
import { envBoolean } from './env.js';

const unsetIfEmpty = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = () => z.preprocess(unsetIfEmpty, z.string().min(1).optional());

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Kafka connection security; doc comments become docs/configuration.md rows. */
export const kafkaSecurityEnv = {
  /** Connect to the brokers over TLS (implied by KAFKA_TLS_CA_FILE or KAFKA_TLS_CERT_FILE). */
  KAFKA_TLS: envBoolean(false),
  /** PEM file of the CA(s) that signed the brokers' certificates (default: the system's trusted CAs). */
  KAFKA_TLS_CA_FILE: optionalString(),
  /** PEM client certificate, for brokers that require mutual TLS (needs KAFKA_TLS_KEY_FILE). */
  KAFKA_TLS_CERT_FILE: optionalString(),
  /** PEM private key of KAFKA_TLS_CERT_FILE. */
  KAFKA_TLS_KEY_FILE: optionalString(),
  /** SASL mechanism: `plain`, `scram-sha-256` or `scram-sha-512`; unset for no SASL. Use TLS with `plain`. */
  KAFKA_SASL_MECHANISM: z.preprocess((v) => (typeof unsetIfEmpty(v) === 'string' ? (v as string).trim().toLowerCase() : undefined), z.enum(SASL_MECHANISMS).optional()),
  /** SASL user name (needed with KAFKA_SASL_MECHANISM). */
  KAFKA_SASL_USERNAME: optionalString(),
  /** SASL password (or KAFKA_SASL_PASSWORD_FILE); never logged. */
  KAFKA_SASL_PASSWORD: optionalString(),
  /** A file holding the SASL password (e.g. a mounted secret); trailing newline ignored. */
  KAFKA_SASL_PASSWORD_FILE: optionalString(),
};

/** Redis connection security (single node and Cluster alike); doc comments become docs/configuration.md rows. */
export const redisSecurityEnv = {
  /** Redis ACL user name (default: the `default` user). A user name in REDIS_URL also works. */
  REDIS_USERNAME: optionalString(),
  /** Redis password (`requirepass` or the ACL user's); never logged. A password in REDIS_URL also works. */
  REDIS_PASSWORD: optionalString(),
  /** A file holding the Redis password (e.g. a mounted secret); trailing newline ignored. */
  REDIS_PASSWORD_FILE: optionalString(),
  /** Connect over TLS (also implied by a `rediss://` URL, REDIS_TLS_CA_FILE or REDIS_TLS_CERT_FILE). */
  REDIS_TLS: envBoolean(false),
  /** PEM file of the CA(s) that signed the Redis servers' certificates (default: the system's trusted CAs). */
  REDIS_TLS_CA_FILE: optionalString(),
  /** PEM client certificate, for servers with `tls-auth-clients yes` (needs REDIS_TLS_KEY_FILE). */
  REDIS_TLS_CERT_FILE: optionalString(),
  /** PEM private key of REDIS_TLS_CERT_FILE. */
  REDIS_TLS_KEY_FILE: optionalString(),
};

export type KafkaSecurityConfig = z.output<z.ZodObject<typeof kafkaSecurityEnv>>;
export type RedisSecurityConfig = z.output<z.ZodObject<typeof redisSecurityEnv>>;

/** TLS material for a client: PEM contents, not paths. */
export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface KafkaSecurity {
  tls?: TlsMaterial;
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export interface RedisSecurity {
  username?: string;
  password?: string;
  tls?: TlsMaterial;
}

/** Reads files named by variables; a missing or unreadable file is a ConfigError naming its variable. */
function reader(problems: ConfigProblem[]) {
  return (variable: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      problems.push({ variable, problem: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return undefined;
    }
  };
}

function tlsMaterial(read: ReturnType<typeof reader>, problems: ConfigProblem[], prefix: 'KAFKA' | 'REDIS', files: { ca?: string; cert?: string; key?: string }): TlsMaterial {
  if ((files.cert === undefined) !== (files.key === undefined)) {
    problems.push({ variable: files.cert === undefined ? `${prefix}_TLS_CERT_FILE` : `${prefix}_TLS_KEY_FILE`, problem: `${prefix}_TLS_CERT_FILE and ${prefix}_TLS_KEY_FILE go together` });
  }
  const ca = read(`${prefix}_TLS_CA_FILE`, files.ca);
  const cert = read(`${prefix}_TLS_CERT_FILE`, files.cert);
  const key = read(`${prefix}_TLS_KEY_FILE`, files.key);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

const secret = (read: ReturnType<typeof reader>, variable: string, value: string | undefined, file: string | undefined): string | undefined =>
  value ?? read(variable, file)?.replace(/\r?\n$/, '');

/** Kafka client security from the parsed settings; throws ConfigError naming each bad variable. */
export function kafkaSecurity(config: KafkaSecurityConfig): KafkaSecurity {
  const problems: ConfigProblem[] = [];
  const read = reader(problems);
  const out: KafkaSecurity = {};
  if (config.KAFKA_TLS || config.KAFKA_TLS_CA_FILE || config.KAFKA_TLS_CERT_FILE || config.KAFKA_TLS_KEY_FILE) {
    out.tls = tlsMaterial(read, problems, 'KAFKA', { ca: config.KAFKA_TLS_CA_FILE, cert: config.KAFKA_TLS_CERT_FILE, key: config.KAFKA_TLS_KEY_FILE });
  }
  const password = secret(read, 'KAFKA_SASL_PASSWORD_FILE', config.KAFKA_SASL_PASSWORD, config.KAFKA_SASL_PASSWORD_FILE);
  if (config.KAFKA_SASL_MECHANISM) {
    if (!config.KAFKA_SASL_USERNAME) problems.push({ variable: 'KAFKA_SASL_USERNAME', problem: `is required with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}` });
    if (password === undefined && !problems.some((p) => p.variable === 'KAFKA_SASL_PASSWORD_FILE')) {
      problems.push({ variable: 'KAFKA_SASL_PASSWORD', problem: `is required (or KAFKA_SASL_PASSWORD_FILE) with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}` });
    }
    if (config.KAFKA_SASL_USERNAME && password !== undefined) out.sasl = { mechanism: config.KAFKA_SASL_MECHANISM, username: config.KAFKA_SASL_USERNAME, password };
  } else if (config.KAFKA_SASL_USERNAME || password !== undefined) {
    problems.push({ variable: 'KAFKA_SASL_MECHANISM', problem: 'is required when a SASL user name or password is set (plain, scram-sha-256 or scram-sha-512)' });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Redis client security from the parsed settings; throws ConfigError naming each bad variable. */
export function redisSecurity(config: RedisSecurityConfig & { REDIS_URL: string }): RedisSecurity {
  const problems: ConfigProblem[] = [];
  const read = reader(problems);
  const out: RedisSecurity = {};
  const password = secret(read, 'REDIS_PASSWORD_FILE', config.REDIS_PASSWORD, config.REDIS_PASSWORD_FILE);
  if (config.REDIS_USERNAME) out.username = config.REDIS_USERNAME;
  if (password !== undefined) out.password = password;
  const rediss = config.REDIS_URL.split(',').some((u) => u.trim().toLowerCase().startsWith('rediss://'));
  if (rediss || config.REDIS_TLS || config.REDIS_TLS_CA_FILE || config.REDIS_TLS_CERT_FILE || config.REDIS_TLS_KEY_FILE) {
    out.tls = tlsMaterial(read, problems, 'REDIS', { ca: config.REDIS_TLS_CA_FILE, cert: config.REDIS_TLS_CERT_FILE, key: config.REDIS_TLS_KEY_FILE });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Credentials for an HTTP peer, from their own settings (`<PREFIX>_USERNAME`, …); never from its URL. */
export interface HttpCredentialSettings {
  username?: string | undefined;
  password?: string | undefined;
  passwordFile?: string | undefined;
  bearerToken?: string | undefined;
  bearerTokenFile?: string | undefined;
}

/**
 * The Authorization header for an HTTP peer: `Basic` from a user name and password (or a password
 * file), or `Bearer` from a token (or a token file); undefined when none is set. Throws ConfigError
 * naming the `<prefix>_…` variables when they do not go together or a file cannot be read.
 */
export function httpAuthorization(prefix: string, s: HttpCredentialSettings): string | undefined {
  const problems: ConfigProblem[] = [];
  const read = reader(problems);
  const password = secret(read, `${prefix}_PASSWORD_FILE`, s.password, s.passwordFile);
  const token = secret(read, `${prefix}_BEARER_TOKEN_FILE`, s.bearerToken, s.bearerTokenFile);
  const basic = s.username !== undefined || password !== undefined;
  if (basic && token !== undefined) problems.push({ variable: `${prefix}_BEARER_TOKEN`, problem: `goes alone: unset ${prefix}_USERNAME and ${prefix}_PASSWORD, or the token` });
  else if (s.username !== undefined && password === undefined && !problems.some((p) => p.variable === `${prefix}_PASSWORD_FILE`)) problems.push({ variable: `${prefix}_PASSWORD`, problem: `is required (or ${prefix}_PASSWORD_FILE) with ${prefix}_USERNAME` });
  else if (s.username === undefined && password !== undefined) problems.push({ variable: `${prefix}_USERNAME`, problem: `is required with ${prefix}_PASSWORD` });
  if (problems.length > 0) throw new ConfigError(problems);
  if (token !== undefined) return `Bearer ${token}`;
  return s.username !== undefined && password !== undefined ? `Basic ${Buffer.from(`${s.username}:${password}`).toString('base64')}` : undefined;
}
