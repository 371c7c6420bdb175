import { z } from 'zod';
import { alertSchema } from './alert.js';
import { timestampSchema } from './ids.js';

/** Body of every webhook delivery (signed per Standard Webhooks by the notifier). */
export const webhookPayloadSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('alert.raised'), timestamp: timestampSchema, data: alertSchema }),
  z.object({ type: z.literal('alert.updated'), timestamp: timestampSchema, data: alertSchema }),
  z.object({ type: z.literal('webhook.test'), timestamp: timestampSchema, data: z.object({ webhookId: z.string().min(1).max(128), message: z.string().max(1000) }) }),
]);
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;
