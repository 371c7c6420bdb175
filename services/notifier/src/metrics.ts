import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ChannelHold } from '@flopwatch/store';

const HOLD_REASONS = ['auth', 'unavailable'] as const;

/** The notifier's metrics; `outboxLag`, `pendingDeliveries` and the channels' holds are read from Redis on each scrape. */
export function createNotifierMetrics(registry: Registry, sample: { outboxLag(): Promise<number>; pendingDeliveries(): Promise<number>; held(): Promise<ChannelHold[]> }) {
  const readHolds = () => sample.held().catch(() => null);
  const registers = [registry];
  return {
    published: new Counter({ name: 'flopwatch_notifier_alerts_published_total', help: 'Alert events produced to Kafka, by event type.', labelNames: ['type'], registers }),
    fannedOut: new Counter({ name: 'flopwatch_notifier_deliveries_created_total', help: 'Webhook deliveries created by fan-out (one per matching endpoint and event).', registers }),
    alertmanager: new Counter({ name: 'flopwatch_notifier_alertmanager_posts_total', help: 'Posts to Alertmanager, by result (ok, error: retried, rejected: dead-lettered).', labelNames: ['result'], registers }),
    alertmanagerCases: new Counter({ name: 'flopwatch_notifier_alertmanager_case_sends_total', help: 'Cases sent to Alertmanager, by state (firing, resolved).', labelNames: ['state'], registers }),
    channelHeld: new Counter({ name: 'flopwatch_notifier_channel_held_total', help: 'Alert events a channel held pending instead of dead-lettering (refused credentials or ACL: reason auth), by channel and reason; counted at each attempt.', labelNames: ['channel', 'reason'], registers }),
    channelPending: new Gauge({
      name: 'flopwatch_notifier_channel_pending',
      help: 'Outbox entries a channel holds pending after a failure it waits out, by channel and reason (auth: Kafka refuses the credentials or an ACL the alerts topic; unavailable: unreachable). -1 when Redis cannot be read.',
      labelNames: ['channel', 'reason'],
      registers,
      async collect() {
        const all = await readHolds();
        if (all === null) return void this.set({ channel: 'kafka', reason: 'auth' }, -1);
        for (const h of all) for (const reason of HOLD_REASONS) this.set({ channel: h.channel, reason }, reason === h.reason ? h.entries : 0);
      },
    }),
    channelPendingAge: new Gauge({
      name: 'flopwatch_notifier_channel_pending_oldest_seconds',
      help: 'How long the longest-held outbox entry of a channel has been held pending (0 when none is).',
      labelNames: ['channel'],
      registers,
      async collect() {
        const all = await readHolds();
        for (const h of all ?? []) this.set({ channel: h.channel }, h.oldestAt === null ? 0 : Math.max(0, (Date.now() - h.oldestAt) / 1000));
      },
    }),
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
