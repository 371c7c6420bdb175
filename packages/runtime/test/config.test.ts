import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import fc from 'fast-check';
import { ConfigError, envBoolean, envDuration, envInt, envList, exitOnConfigError, loadConfig, parseDuration, redactConfig } from '../src/index.js';

const schema = z.object({
  PORT: envInt({ min: 1, max: 65_535, default: 8080 }),
  KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
  DEBUG: envBoolean(false),
  TIMEOUT: envDuration({ default: 5_000 }),
  REDIS_URL: z.string(),
  API_SECRET: z.string().min(8),
});

describe('loadConfig', () => {
  it('applies defaults and parses every helper', () => {
    const config = loadConfig(schema, { REDIS_URL: 'redis://127.0.0.1:6379', API_SECRET: 'abcdefghi', DEBUG: 'Yes', TIMEOUT: '2m', KAFKA_BROKERS: 'a:1, b:2,,', PORT: '' });
    expect(config).toEqual({ PORT: 8080, KAFKA_BROKERS: ['a:1', 'b:2'], DEBUG: true, TIMEOUT: 120_000, REDIS_URL: 'redis://127.0.0.1:6379', API_SECRET: 'abcdefghi' });
  });

  it('lists every problem with the variable name when the environment is invalid', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: '70000', DEBUG: 'maybe', TIMEOUT: 'soon', API_SECRET: 'short' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.retryable).toBe(false);
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['API_SECRET', 'DEBUG', 'PORT', 'REDIS_URL', 'TIMEOUT']);
    expect(e.message).toMatch(/PORT: must be <= 65535 \(got "70000"\)/);
    expect(e.message).toMatch(/REDIS_URL: is required but not set/);
    expect(e.message).toMatch(/DEBUG: expected one of true\/false/);
    // The value of a secret is never echoed back.
    expect(e.message).not.toContain('short');
  });

  it('rejects a non-integer and an empty list', () => {
    const s = z.object({ N: envInt(), L: envList() });
    expect(() => loadConfig(s, { N: '1.5', L: ' , ' })).toThrow(/N: expected an integer[\s\S]*L: (is required|expected at least 1)/);
  });
});

describe('exitOnConfigError', () => {
  it('prints the message without a stack and exits 1 on a ConfigError', () => {
    const out: string[] = [];
    const codes: number[] = [];
    const target = { exit: (c: number) => void codes.push(c), stderr: { write: (s: string) => out.push(s) } };
    expect(() => exitOnConfigError(() => loadConfig(schema, {}), target)).toThrow(ConfigError);
    expect(codes).toEqual([1]);
    expect(out.join('')).toMatch(/^invalid configuration \(2 problems\):\n {2}- REDIS_URL/);
    expect(out.join('')).not.toMatch(/\bat /);
  });

  it('returns the config when it is valid', () => {
    const target = { exit: () => undefined, stderr: { write: () => true } };
    expect(exitOnConfigError(() => loadConfig(schema, { REDIS_URL: 'r', API_SECRET: '123456789' }), target).PORT).toBe(8080);
  });
});

describe('redactConfig', () => {
  it('hides secret-named values and URL passwords, and leaves the input alone', () => {
    const config = {
      REDIS_URL: 'redis://:hunter2@redis:6379/0',
      KAFKA_URL: 'kafka://user:pw@host:9092',
      API_KEYS: ['k1', 'k2'],
      webhook: { signingSecret: 'whsec_abc', url: 'https://example.com/hook' },
      sasl: { username: 'u', password: 'p' },
      ACCESS_TOKEN: 'tok',
      PORT: 8080,
      EMPTY: null,
    };
    const redacted = redactConfig(config);
    expect(redacted).toEqual({
      REDIS_URL: 'redis://:[redacted]@redis:6379/0',
      KAFKA_URL: 'kafka://user:[redacted]@host:9092',
      API_KEYS: ['[redacted]', '[redacted]'],
      webhook: { signingSecret: '[redacted]', url: 'https://example.com/hook' },
      sasl: { username: 'u', password: '[redacted]' },
      ACCESS_TOKEN: '[redacted]',
      PORT: 8080,
      EMPTY: null,
    });
    expect(config.REDIS_URL).toBe('redis://:hunter2@redis:6379/0');
  });
});

describe('parseDuration', () => {
  const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

  it('reads an amount and a unit, any case, decimals and surrounding spaces allowed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 99 }), fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])), fc.boolean(), (whole, hundredths, unit, upper) => {
        const text = ` ${whole}.${String(hundredths).padStart(2, '0')}${upper ? unit.toUpperCase() : unit} `;
        expect(parseDuration(text)).toBe(Math.round((whole + hundredths / 100) * UNITS[unit]));
      }),
    );
  });

  it('takes a bare number as milliseconds unless a unit is required, and refuses anything else', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('250', { unitRequired: true })).toBeNull();
    for (const bad of ['', 's', '-5s', '5 s', '5sec', '1e3', '5s,6s', '1.s']) expect(parseDuration(bad), bad).toBeNull();
  });
});
