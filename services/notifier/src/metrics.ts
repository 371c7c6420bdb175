import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The notifier's metrics; `outboxLag` and `pendingDeliveries` are read from Redis on each scrape. */
export function createNotifierMetrics(registry: Registry, sample: { outboxLag(): Promise<number>; pendingDeliveries(): Promise<number> }) {
  const registers = [registry];
  return {
    published: new Counter({ name: 'flopwatch_notifier_alerts_published_total', help: 'Alert events produced to Kafka, by event type.', labelNames: ['type'], registers }),
    fannedOut: new Counter({ name: 'flopwatch_notifier_deliveries_created_total', help: 'Webhook deliveries created by fan-out (one per matching endpoint and event).', registers }),
    alertmanager: new Counter({ name: 'flopwatch_notifier_alertmanager_posts_total', help: 'Posts to Alertmanager, by result (ok, error: retried, rejected: dead-lettered).', labelNames: ['result'], registers }),
    alertmanagerCases: new Counter({ name: 'flopwatch_notifier_alertmanager_case_sends_total', help: 'Cases sent to Alertmanager, by state (firing, resolved).', labelNames: ['state'], registers }),
    channelDeadLetters: new Counter({ name: 'flopwatch_notifier_dead_letters_total', help: 'Alerts the Kafka or Alertmanager channel gave up on at once (a permanent error), by channel and reason.', labelNames: ['channel', 'reason'], registers }),
    outboxErrors: new Counter({ name: 'flopwatch_notifier_outbox_errors_total', help: 'Outbox batches left unacknowledged after an error (retried).', registers }),
    deliveries: new Counter({ name: 'flopwatch_webhook_deliveries_total', help: 'Webhook deliveries settled, by outcome (delivered, dead).', labelNames: ['outcome'], registers }),
    attempts: new Counter({ name: 'flopwatch_webhook_attempts_total', help: 'Webhook delivery attempts, by result (2xx, 4xx, 5xx, timeout, network, refused, disabled).', labelNames: ['result'], registers }),
    latency: new Histogram({ name: 'flopwatch_webhook_attempt_duration_seconds', help: 'Time of one webhook attempt, request to (capped) response.', labelNames: ['result'], buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    deadLetters: new Counter({ name: 'flopwatch_webhook_dead_letters_total', help: 'Webhook messages dead-lettered, by reason (retries_exhausted, url_policy, http_rejected, endpoint_disabled).', labelNames: ['reason'], registers }),
    endpointsDisabled: new Counter({ name: 'flopwatch_webhook_endpoints_disabled_total', help: 'Endpoints disabled for failing continuously.', registers }),
    outboxLag: new Gauge({
      name: 'flopwatch_notifier_outbox_lag',
      help: 'Outbox entries not yet acknowledged by the notifier group (unread + pending).',
      registers,
      async collect() {
        this.set(await sample.outboxLag().catch(() => -1));
      },
    }),
    pending: new Gauge({
      name: 'flopwatch_webhook_pending_deliveries',
      help: 'Webhook deliveries waiting for an attempt (first or retry).',
      registers,
      async collect() {
        this.set(await sample.pendingDeliveries().catch(() => -1));
      },
    }),
  };
}

export type NotifierMetrics = ReturnType<typeof createNotifierMetrics>;
