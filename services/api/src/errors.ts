import { AppError } from '@flopwatch/runtime';

/** Codes of the API's error bodies (`error.code`). */
export const API_ERROR_CODES = [
  'VALIDATION_FAILED', // a request part does not match its schema
  'INVALID_JSON', // the body is not JSON
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'UNAUTHORIZED', // no valid API key
  'FORBIDDEN', // the key's role may not do this
  'NOT_FOUND',
  'CONFLICT', // e.g. an illegal alert transition
  'LIMIT_REACHED', // a record holds as many of something as it may (e.g. a case's comments)
  'RATE_LIMITED',
  'INVALID_EVENTS', // a telemetry batch with invalid events (none sent)
  'EVENT_TOO_LARGE', // a telemetry event larger than the topic's max.message.bytes (no resend can succeed)
  'UNAVAILABLE', // a dependency (Redis, Kafka) failed; retry later
  'TIMEOUT',
  'INTERNAL',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** An error a route throws on purpose: its status, code and message reach the client as they are. */
export class ApiError extends AppError<ApiErrorCode> {
  readonly statusCode: number;

  constructor(statusCode: number, code: ApiErrorCode, message: string, details?: Record<string, unknown>, options: { cause?: unknown } = {}) {
    super(code, message, { details, cause: options.cause, retryable: statusCode >= 500 || statusCode === 429 });
    this.statusCode = statusCode;
  }
}

export const notFound = (what: string, id: string) => new ApiError(404, 'NOT_FOUND', `${what} ${JSON.stringify(id)} does not exist`, { [what]: id });
