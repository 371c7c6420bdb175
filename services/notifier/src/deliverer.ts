// Sends due webhook deliveries: claim (atomic, leased) → sign → POST → settle (delivered, retry at a
// time, or dead letter). A delivery's state is in Redis, so any instance can pick up where another
// stopped; an attempt whose lease ran out may be sent twice, always with the same webhook-id.
import type { Logger } from 'pino';
import type { DeadLetterReason, Delivery, DeliveryAttempt, Store } from '@flopwatch/store';
import { nextRetryDelay, permanentFailure, sendWebhook, signedHeaders, type RetryPolicy, type SendResult, type UrlPolicy } from '@flopwatch/webhooks';
import type { NotifierMetrics } from './metrics.js';

export interface DelivererOptions {
  store: Store;
  policy: UrlPolicy;
  retry: RetryPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Deliveries attempted at once. */
  concurrency: number;
  /** An endpoint failing without a success this long is disabled. */
  disableAfterMs: number;
  metrics: NotifierMetrics;
  log: Logger;
  now?: () => number;
}

function resultLabel(r: SendResult): string {
  if (r.status !== null) return `${Math.floor(r.status / 100)}xx`;
  switch (r.error?.code) {
    case 'DELIVERY_TIMEOUT':
      return 'timeout';
    case 'DELIVERY_NETWORK':
    case 'DNS_FAILED':
      return 'network';
    default:
      return 'refused';
  }
}

export function createDeliverer(options: DelivererOptions) {
  const { store, metrics } = options;
  const log = options.log.child({ component: 'deliverer' });
  const now = options.now ?? Date.now;
  // Long enough for one attempt and its settle; a crashed instance's claims come back after it.
  const leaseMs = options.timeoutMs * 2 + 1_000;

  async function settle(d: Delivery, outcome: DeliveryAttempt['outcome'], attempt: DeliveryAttempt, reachedEndpoint: boolean, next: { nextAt?: number; deadReason?: DeadLetterReason } = {}) {
    const settled = await store.webhooks.settle({ delivery: d, outcome, now: now(), attempt, reachedEndpoint, ...next });
    if (!settled.applied) {
      log.warn({ deliveryId: d.id }, 'delivery settled by another instance; attempt result dropped');
      return settled;
    }
    if (outcome !== 'retry') metrics.deliveries.inc({ outcome });
    if (outcome === 'dead') metrics.deadLetters.inc({ reason: next.deadReason ?? 'retries_exhausted' });
    return settled;
  }

  async function disableIfFailingTooLong(endpointId: string, failingSince: number | null, lastError: string) {
    if (failingSince === null || now() - failingSince < options.disableAfterMs) return;
    const endpoint = await store.webhooks.getEndpoint(endpointId);
    if (!endpoint || endpoint.disabled) return;
    const reason = `failing without a successful delivery since ${new Date(failingSince).toISOString()} (last error: ${lastError})`;
    await store.webhooks.disableEndpoint(endpointId, reason, new Date(now()));
    metrics.endpointsDisabled.inc();
    log.warn({ endpointId, failingSince: new Date(failingSince).toISOString() }, 'webhook endpoint disabled');
  }

  async function deliver(id: string): Promise<void> {
    const d = await store.webhooks.getDelivery(id);
    if (!d || d.status !== 'pending') return store.webhooks.unschedule(id);
    const endpoint = await store.webhooks.getEndpoint(d.endpointId);
    if (!endpoint) return store.webhooks.discard(id);
    const at = new Date(now()).toISOString();
    if (endpoint.disabled) {
      const error = `endpoint disabled: ${endpoint.disabled.reason}`;
      metrics.attempts.inc({ result: 'disabled' });
      await settle(d, 'dead', { at, status: null, durationMs: 0, outcome: 'dead', error, response: '' }, false, { deadReason: 'endpoint_disabled' });
      return;
    }
    const secrets = await store.webhooks.signingSecrets(endpoint.id, now());
    const timestamp = Math.floor(now() / 1000);
    const result = await sendWebhook({
      url: endpoint.url,
      headers: signedHeaders(secrets, d.messageId, timestamp, d.body),
      body: d.body,
      policy: options.policy,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
    });
    const label = resultLabel(result);
    metrics.attempts.inc({ result: label });
    metrics.latency.observe({ result: label }, result.durationMs / 1000);
    const error = result.ok ? null : (result.error?.message ?? `HTTP ${result.status}`);
    // A refused address or a 4xx that no retry changes is dead-lettered at once, not retried for a day and a half.
    const permanent = permanentFailure(result);
    const delay = result.ok || permanent ? null : nextRetryDelay(options.retry, d.attempts - d.roundStart + 1, result.retryAfterMs);
    const outcome = result.ok ? 'delivered' : delay === null ? 'dead' : 'retry';
    const deadReason: DeadLetterReason = permanent ?? 'retries_exhausted';
    const attempt: DeliveryAttempt = { at, status: result.status, durationMs: result.durationMs, outcome, error, response: result.responseBody };
    const settled = await settle(d, outcome, attempt, true, delay === null ? { deadReason } : { nextAt: now() + delay });
    log[result.ok ? 'debug' : 'info'](
      { deliveryId: d.id, endpointId: endpoint.id, messageId: d.messageId, attempt: d.attempts + 1, status: result.status, error, outcome, retryInMs: delay, ...(outcome === 'dead' ? { deadReason } : {}) },
      'webhook attempt',
    );
    if (!result.ok && settled.applied) await disableIfFailingTooLong(endpoint.id, settled.failingSince, error ?? 'unknown');
  }

  return {
    /** Claims and attempts the deliveries due now; returns how many it claimed. */
    async tick(): Promise<number> {
      const t = now();
      const ids = await store.webhooks.claimDue(t, t + leaseMs, options.concurrency);
      const results = await Promise.allSettled(ids.map(deliver));
      for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason }, 'delivery step failed; retried when its lease ends');
      return ids.length;
    },
  };
}

export type Deliverer = ReturnType<typeof createDeliverer>;
