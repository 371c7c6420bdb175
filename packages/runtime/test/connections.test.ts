import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, httpAuthorization, kafkaSecurity, kafkaSecurityEnv, loadConfig, redactConfig, redisSecurity, redisSecurityEnv } from '../src/index.js';

const schema = z.object({ REDIS_URL: z.string().default('redis://127.0.0.1:6379'), ...kafkaSecurityEnv, ...redisSecurityEnv });
const dir = mkdtempSync(join(tmpdir(), 'flopwatch-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const problems = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.variable);
    throw err;
  }
  return [];
};

describe('connection security settings', () => {
  it('default to plaintext without credentials', () => {
    const config = loadConfig(schema, {});
    expect(kafkaSecurity(config)).toEqual({});
    expect(redisSecurity(config)).toEqual({});
  });

  it('read SASL credentials (password from a file, newline dropped) and TLS material from PEM files', () => {
    const config = loadConfig(schema, {
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD_FILE: file('kpw', 's3cret\n'),
      KAFKA_TLS_CA_FILE: file('ca.pem', 'CA PEM'),
      REDIS_URL: 'rediss://redis-1:6380',
      REDIS_PASSWORD: 'r-pw',
      REDIS_TLS_CERT_FILE: file('c.pem', 'CERT'),
      REDIS_TLS_KEY_FILE: file('k.pem', 'KEY'),
    });
    expect(kafkaSecurity(config)).toEqual({ tls: { ca: 'CA PEM' }, sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 's3cret' } });
    expect(redisSecurity(config)).toEqual({ password: 'r-pw', tls: { cert: 'CERT', key: 'KEY' } });
    // The config dump a service logs at start carries no secret.
    expect(JSON.stringify(redactConfig(config))).not.toMatch(/r-pw|s3cret/);
  });

  it('name each variable that is missing, unreadable or alone', () => {
    expect(problems(() => kafkaSecurity(loadConfig(schema, { KAFKA_SASL_MECHANISM: 'plain' })))).toEqual(['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']);
    expect(problems(() => kafkaSecurity(loadConfig(schema, { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })))).toEqual(['KAFKA_SASL_MECHANISM']);
    expect(problems(() => kafkaSecurity(loadConfig(schema, { KAFKA_TLS_CERT_FILE: file('only-cert.pem', 'C') })))).toEqual(['KAFKA_TLS_KEY_FILE']);
    expect(problems(() => redisSecurity(loadConfig(schema, { REDIS_TLS_CA_FILE: join(dir, 'absent.pem') })))).toEqual(['REDIS_TLS_CA_FILE']);
    expect(problems(() => loadConfig(schema, { KAFKA_SASL_MECHANISM: 'gssapi' }))).toEqual(['KAFKA_SASL_MECHANISM']);
  });
});

describe('HTTP peer credentials', () => {
  it('make a Basic header from a user and a password (or its file), a Bearer header from a token (or its file), nothing from nothing', () => {
    expect(httpAuthorization('AM', {})).toBeUndefined();
    expect(httpAuthorization('AM', { username: 'u', password: 'p:w' })).toBe(`Basic ${Buffer.from('u:p:w').toString('base64')}`);
    expect(httpAuthorization('AM', { username: 'u', passwordFile: file('am-pw', 'from-file\n') })).toBe(`Basic ${Buffer.from('u:from-file').toString('base64')}`);
    expect(httpAuthorization('AM', { bearerToken: 'tok' })).toBe('Bearer tok');
    expect(httpAuthorization('AM', { bearerTokenFile: file('am-tok', 'tok-file\n') })).toBe('Bearer tok-file');
  });

  it('name the variables that do not go together or cannot be read', () => {
    expect(problems(() => httpAuthorization('AM', { username: 'u' }))).toEqual(['AM_PASSWORD']);
    expect(problems(() => httpAuthorization('AM', { password: 'p' }))).toEqual(['AM_USERNAME']);
    expect(problems(() => httpAuthorization('AM', { username: 'u', password: 'p', bearerToken: 't' }))).toEqual(['AM_BEARER_TOKEN']);
    expect(problems(() => httpAuthorization('AM', { username: 'u', passwordFile: join(dir, 'absent') }))).toEqual(['AM_PASSWORD_FILE']);
  });
});
