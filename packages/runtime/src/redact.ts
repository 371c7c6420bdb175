/** Key names whose values never reach a log line or a config dump. */
export const SECRET_KEY_PATTERN = /key|secret|password|token/i;

export const REDACTED = '[redacted]';

// scheme://user:password@host → scheme://user:[redacted]@host (also redis://:pw@host).
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)([^@/?#]+)(@)/i;

/** Replaces the password part of a connection URL; other strings are returned as they are. */
export function redactUrlPassword(value: string): string {
  return value.replace(URL_PASSWORD, `$1${REDACTED}$3`);
}

/**
 * A copy of `config` that is safe to log: values of keys matching /key|secret|password|token/i
 * become '[redacted]', and passwords inside URLs (redis://:pw@host) are removed. Nested objects
 * and arrays are walked; the input is not modified.
 */
export function redactConfig<T>(config: T): T {
  return walk(config, false) as T;
}

function walk(value: unknown, secret: boolean): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((v) => walk(v, secret));
  if (value instanceof URL) return walk(value.href, secret);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, secret || SECRET_KEY_PATTERN.test(k))]));
  }
  if (secret) return REDACTED;
  return typeof value === 'string' ? redactUrlPassword(value) : value;
}
