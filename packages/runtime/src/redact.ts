/** Key names whose values never reach a log line or a config dump. */
export const SECRET_KEY_PATTERN = /key|secret|password|token/i;

export const REDACTED = '[redacted]';

// The user information of every URL in a text: `scheme://userinfo@` anywhere, and `user:password@` at the
// start of a comma-separated seed without a scheme (REDIS_URL=redis://:a@h1:1,:b@h2:2). The user
// information ends at the last `@` before the host, so a password holding a raw `@` is covered whole.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#,]*)@/gi;
const SEED_USERINFO = /(^|,)(\s*)([^\s/?#,@:]*:[^\s/?#,]*)@(?=[^\s@])/g;

function redactUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  // `user:password` keeps the user; a lone `token` (https://token@host) is all credential.
  if (colon < 0) return userinfo === '' ? userinfo : REDACTED;
  return colon === userinfo.length - 1 ? userinfo : `${userinfo.slice(0, colon + 1)}${REDACTED}`;
}

/**
 * The text with the credentials of every URL in it replaced: passwords (`redis://:pw@h`,
 * `https://user:pw@h` → `https://user:[redacted]@h`) and user-only tokens (`https://tok@h`), in every
 * seed of a comma-separated list too. Text without URLs is returned as it is.
 */
export function redactUrls(text: string): string {
  if (!text.includes('@')) return text;
  return text
    .replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => `${scheme}${redactUserinfo(userinfo)}@`)
    .replace(SEED_USERINFO, (m, start: string, space: string, userinfo: string) => (userinfo.startsWith(REDACTED) || userinfo.endsWith(REDACTED) ? m : `${start}${space}${redactUserinfo(userinfo)}@`));
}

/**
 * A copy of `config` that is safe to log: values of keys matching /key|secret|password|token/i
 * become '[redacted]', and credentials inside URLs (redis://:pw@host, every seed of a list) are
 * removed. Nested objects and arrays are walked; the input is not modified.
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
  return typeof value === 'string' ? redactUrls(value) : value;
}
