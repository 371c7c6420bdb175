import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import { REDACTED } from './redact.js';

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

/** The process' root logger; below it use `log.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS, ...(options.redact ?? [])], censor: REDACTED },
  };
  if (options.pretty) {
    return pino({ ...config, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return options.destination ? pino(config, options.destination) : pino(config);
}
