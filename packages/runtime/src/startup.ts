import type { Logger } from 'pino';

/**
 * Reports why a service could not start: the structured fatal log line for log shippers, and the
 * same reason as plain text on stderr for the operator at a terminal (a policy pack's problems,
 * one per line, read badly inside escaped JSON).
 */
export function reportStartupFailure(log: Logger, service: string, err: unknown, stderr: Pick<NodeJS.WriteStream, 'write'> = process.stderr): void {
  log.fatal({ err }, `${service} failed to start`);
  const reason = err instanceof Error ? err.message : String(err);
  stderr.write(`${service} failed to start: ${reason}\n`);
}
