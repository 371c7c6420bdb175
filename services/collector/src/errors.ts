import { AppError, type AppErrorOptions } from '@flopwatch/runtime';

export const COLLECTOR_ERROR_CODES = ['SLURMRESTD_UNREACHABLE', 'SLURMRESTD_HTTP', 'SLURMRESTD_BAD_RESPONSE', 'SLURMRESTD_ERROR'] as const;
export type CollectorErrorCode = (typeof COLLECTOR_ERROR_CODES)[number];

/** A failure of one of the collector's sources; `retryable` says whether the next round may succeed. */
export class CollectorError extends AppError<CollectorErrorCode> {
  constructor(code: CollectorErrorCode, message: string, options: AppErrorOptions = {}) {
    super(code, message, options);
  }
}
