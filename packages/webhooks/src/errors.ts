import { AppError } from '@flopwatch/runtime';

export const WEBHOOK_ERROR_CODES = [
  'URL_INVALID',
  'URL_SCHEME_NOT_ALLOWED',
  'URL_ADDRESS_FORBIDDEN',
  'DNS_FAILED',
  'SECRET_INVALID',
  'SCHEDULE_INVALID',
  'DELIVERY_TIMEOUT',
  'DELIVERY_NETWORK',
] as const;
export type WebhookErrorCode = (typeof WEBHOOK_ERROR_CODES)[number];

/** A webhook failure; `retryable` says whether another attempt may succeed. */
export class WebhookError extends AppError<WebhookErrorCode> {}
