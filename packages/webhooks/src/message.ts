import { createHash, randomBytes } from 'node:crypto';

/** Event types a webhook message carries (the contracts' webhook payload `type`). */
export type WebhookEventType = 'alert.raised' | 'alert.updated' | 'webhook.test';

/**
 * The `webhook-id` of an alert event: the same for every attempt, every endpoint and every notifier
 * restart. `eventKey` tells apart several updates of one alert (the outbox entry id); raising has one.
 */
export function alertMessageId(alertId: string, type: WebhookEventType, eventKey = ''): string {
  const digest = createHash('sha256').update(JSON.stringify([alertId, type, eventKey])).digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}

/** A fresh message id, for test messages. */
export const randomMessageId = (): string => `msg_${randomBytes(16).toString('hex')}`;

/** The body of a delivery: the contracts' webhook payload, serialized once and signed as-is. */
export function messageBody(type: WebhookEventType, timestamp: string, data: unknown): string {
  return JSON.stringify({ type, timestamp, data });
}
