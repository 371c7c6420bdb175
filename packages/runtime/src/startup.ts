import type { Logger } from 'pino';
import { AppError } from './errors.js';

/**
 * Reports why a service could not start: the structured fatal log line for log shippers, and the
 * same reason as plain text on stderr for the operator at a terminal (a policy pack's problems,
 * one per line, read badly inside escaped JSON).
 */
export function reportStartupFailure(log: Logger, service: string, err: unknown, stderr: Pick<NodeJS.WriteStream, 'write'> = process.stderr): void {
  // A known, non-retryable error (bad credentials, a TLS setting) is the operator's to fix: its code and
  // message say all, a stack trace would only bury them. Anything else is a bug: keep the stack.
  if (err instanceof AppError && !err.retryable) log.fatal({ code: err.code, reason: err.message, ...(err.details ? { details: err.details } : {}) }, `${service} failed to start`);
  else log.fatal({ err }, `${service} failed to start`);
  const reason = err instanceof Error ? err.message : String(err);
  stderr.write(`${service} failed to start: ${reason}\n`);
}
