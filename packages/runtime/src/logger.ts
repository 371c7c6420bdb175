import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { REDACTED, redactUrls } from './redact.js';

export type { Logger } from 'pino';

// Field names that carry credentials wherever they appear (top level and one level down).
const SECRET_FIELDS = ['password', 'secret', 'secrets', 'token', 'accessToken', 'refreshToken', 'apiKey', 'api_key', 'apiKeys', 'webhookSecret', 'signingSecret', 'authorization', 'cookie', 'redisPassword', 'saslPassword'];
const SECRET_HEADERS = ['authorization', 'cookie', '"set-cookie"', '"x-api-key"', '"webhook-signature"', '"proxy-authorization"'];

/** The pino redact paths every flopwatch logger uses. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
  ...SECRET_HEADERS.flatMap((h) => {
    const access = h.startsWith('"') ? `[${h}]` : `.${h}`;
    return [`req.headers${access}`, `res.headers${access}`, `headers${access}`, `*.headers${access}`, `request.headers${access}`];
  }),
  'config.sasl.password',
  'config.ssl.key',
];

export interface LoggerOptions {
  service: string;
  level?: Level | 'silent';
  /** Human-readable output through pino-pretty (development only). */
  pretty?: boolean;
  /** Where lines go (default stdout); tests pass a stream. Ignored when `pretty`. */
  destination?: DestinationStream;
  /** Extra redact paths beside REDACT_PATHS. */
  redact?: readonly string[];
}

// An error's message or stack may quote a URL with its credentials (a client's connection error).
function withoutUrlCredentials(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrls(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withoutUrlCredentials(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutUrlCredentials(v, depth + 1)]));
}

// ioredis puts the failed command on its ReplyError: AUTH's and HELLO's arguments are the credentials.
const SECRET_COMMANDS = /^(auth|hello|migrate|acl|config)$/i;

function errSerializer(err: unknown): unknown {
  if (!(err instanceof Error)) return withoutUrlCredentials(err);
  const out = withoutUrlCredentials(pino.stdSerializers.err(err)) as { command?: { name?: unknown; args?: unknown } };
  if (out.command && typeof out.command.name === 'string' && SECRET_COMMANDS.test(out.command.name)) out.command = { ...out.command, args: [REDACTED] };
  return out;
}

/** The process' root logger; below it use `log.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: { err: errSerializer },
    redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: REDACTED },
  };
  if (options.pretty) {
    return pino({ ...config, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return options.destination ? pino(config, options.destination) : pino(config);
}
