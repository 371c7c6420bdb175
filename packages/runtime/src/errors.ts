/** Options every AppError accepts besides its code and message. */
export interface AppErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/**
 * Base of every error the project throws: a `code` from the subclass' const list, whether trying
 * again may succeed, the original `cause`, and structured `details` for logs and API bodies.
 */
export class AppError<C extends string = string> extends Error {
  readonly code: C;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

/**
 * Whether trying again may succeed: an AppError's flag, else a `retryable` / `retriable` boolean on
 * the error (kafkajs spells it `retriable`), else false — unknown failures are not retried blindly.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof AppError) return err.retryable;
  if (typeof err !== 'object' || err === null) return false;
  const flags = err as { retryable?: unknown; retriable?: unknown };
  if (typeof flags.retryable === 'boolean') return flags.retryable;
  if (typeof flags.retriable === 'boolean') return flags.retriable;
  return false;
}
