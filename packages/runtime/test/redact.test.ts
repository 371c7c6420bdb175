import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig, redactUrls, REDACTED } from '../src/index.js';
import { z } from 'zod';

// A password as it stands in a URL (percent-encoded), with a marker no other part of the text holds.
const password = fc.string({ minLength: 1, maxLength: 16, unit: 'grapheme' }).map((s) => `PW~${encodeURIComponent(s)}`);
const user = fc.constantFrom('', 'default', 'svc-flopwatch', 'a.b');
const host = fc.tuple(fc.constantFrom('redis-0', '10.0.0.7', 'am.example.com', '[::1]'), fc.integer({ min: 1, max: 65_535 })).map(([h, p]) => `${h}:${p}`);
const scheme = fc.constantFrom('redis://', 'rediss://', 'http://', 'https://', 'kafka://');
const seed = fc.record({ scheme: fc.option(scheme, { nil: undefined }), user, password, host });
// Text around the URLs holds no `@`, so it has no credentials of its own.
const text = fc.string({ maxLength: 20 }).filter((s) => !s.includes('@') && !s.includes(','));

describe('redactUrls', () => {
  it('removes the password of every seed of a comma-separated list, with or without a scheme, anywhere in a text', () => {
    fc.assert(
      fc.property(fc.array(seed, { minLength: 1, maxLength: 4 }), scheme, text, text, (seeds, first, before, after) => {
        // The first seed of a list carries a scheme when it stands inside a text.
        const list = seeds.map((s, i) => `${s.scheme ?? (i === 0 ? first : '')}${s.user}:${s.password}@${s.host}`).join(',');
        const out = redactUrls(`${before} ${list} ${after}`);
        for (const s of seeds) {
          expect(out).not.toContain(s.password);
          expect(out).toContain(`${s.user}:${REDACTED}@${s.host}`);
        }
        expect(out.startsWith(`${before} `)).toBe(true);
        expect(out.endsWith(` ${after}`)).toBe(true);
      }),
    );
  });

  it('removes the credentials of every URL of a text, however many', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(scheme, user, password, host, text), { minLength: 1, maxLength: 5 }), (urls) => {
        const input = urls.map(([s, u, p, h, t]) => `${t} ${s}${u}:${p}@${h}/path?q=1`).join(' ');
        const out = redactUrls(input);
        for (const [s, u, p, h] of urls) {
          expect(out).not.toContain(p);
          expect(out).toContain(`${s}${u}:${REDACTED}@${h}/path?q=1`);
        }
      }),
    );
  });

  it('returns a text without user information as it is', () => {
    fc.assert(fc.property(fc.string().filter((s) => !s.includes('@')), (s) => {
      expect(redactUrls(s)).toBe(s);
    }));
    expect(redactUrls('see https://example.com/a?b=c@d and redis://h:1')).toBe('see https://example.com/a?b=c@d and redis://h:1');
  });

  it('treats a user-only part as a token, and keeps a user without a password', () => {
    expect(redactUrls('https://ghp_abc123@git.example.com/x')).toBe(`https://${REDACTED}@git.example.com/x`);
    expect(redactUrls('redis://default:@h:6379')).toBe('redis://default:@h:6379');
    // A raw `@` inside the password: everything up to the last one is user information.
    expect(redactUrls('redis://:p@ss@h:6379')).toBe(`redis://:${REDACTED}@h:6379`);
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.array(seed, { minLength: 1, maxLength: 4 }), scheme, (seeds, first) => {
        const once = redactUrls(seeds.map((s, i) => `${s.scheme ?? (i === 0 ? first : '')}${s.user}:${s.password}@${s.host}`).join(','));
        expect(redactUrls(once)).toBe(once);
      }),
    );
  });
});

describe('redaction of URLs in config dumps and config errors', () => {
  it('hides the password of the second and later seeds of a Redis Cluster URL', () => {
    const config = { REDIS_URL: 'redis://:pw-one@redis-0:6379,redis://:pw-two@redis-1:6379,:pw-three@redis-2:6379' };
    expect(redactConfig(config).REDIS_URL).toBe(`redis://:${REDACTED}@redis-0:6379,redis://:${REDACTED}@redis-1:6379,:${REDACTED}@redis-2:6379`);
  });

  it('does not quote a URL password in the problem of an invalid variable', () => {
    const schema = z.object({ SOME_URL: z.url().refine(() => false, { message: 'is refused' }) });
    try {
      loadConfig(schema, { SOME_URL: 'http://u:hunter2@h:1' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain(`http://u:${REDACTED}@h:1`);
      expect((err as ConfigError).message).not.toContain('hunter2');
    }
  });
});
