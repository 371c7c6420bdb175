import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer';

/** The kafkajs log level that lets through what `log` would print. */
export function kafkaLogLevel(log: Logger): logLevel {
  switch (log.level) {
    case 'trace':
      return logLevel.DEBUG;
    case 'debug':
      return logLevel.INFO;
    case 'info':
    case 'warn':
      return logLevel.WARN;
    case 'error':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

/**
 * Forwards kafkajs logs to pino. kafkajs INFO (joins, connects, every fetch restart) is demoted to
 * debug and DEBUG to trace; this package logs the events that matter itself. kafkajs logs every
 * error response of the protocol (`Response Metadata(…)`) at ERROR although its retries handle
 * them; those become warnings, and the failure that survives the retries is logged by the caller.
 * kafkajs warns at every idempotent producer's start that limited retries "may invalidate EoS
 * guarantees"; the limit is deliberate (a send that keeps failing fails the batch or the request,
 * which is retried from Kafka or answered 503, instead of hanging), so that warning is debug.
 */
export function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
      const data = { namespace, ...fields };
      switch (level) {
        case logLevel.ERROR:
          return namespace === 'Connection' && message.startsWith('Response ') ? log.warn(data, message) : log.error(data, message);
        case logLevel.WARN:
          return message.startsWith(BOUNDED_RETRIES_WARNING) ? log.debug(data, message) : log.warn(data, message);
        case logLevel.INFO:
          return log.debug(data, message);
        default:
          return log.trace(data, message);
      }
    };
}
