export { WebhookError, WEBHOOK_ERROR_CODES, type WebhookErrorCode } from './errors.js';
export { generateSecret, secretKey, signOnce, signatureHeader, signedHeaders, verifySignature } from './secret.js';
export { DEFAULT_RETRY_SCHEDULE_MS, nextRetryDelay, parseRetryAfter, parseRetrySchedule, type RetryPolicy } from './schedule.js';
export {
  DEFAULT_URL_POLICY,
  assertEndpointUrl,
  forbiddenAddressReason,
  parseEndpointUrl,
  resolveAllowed,
  safeLookup,
  validateAllowList,
  type ResolvedAddress,
  type Resolver,
  type UrlPolicy,
} from './url-policy.js';
export { permanentFailure, sendWebhook, type SendOptions, type SendResult } from './send.js';
export { maskEndpointUrl } from './mask.js';
export { alertMessageId, messageBody, randomMessageId, type WebhookEventType } from './message.js';
