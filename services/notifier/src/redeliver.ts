// Dead letters handed back to their channel once the cause is fixed (`pnpm notify:redeliver`): the
// Kafka channel's (an alert larger than the topic's limit, a refused record) become outbox entries for
// that channel alone, the Alertmanager channel's make their cases due now, and the webhook channel's
// are scheduled again on every enabled endpoint (those of a disabled endpoint wait for
// `POST /v1/webhooks/:id/enable`). Each letter leaves its list as it is handed back: a second run
// redelivers nothing twice, and a letter that fails again is dead-lettered again.
import type { Store } from '@flopwatch/store';

export const REDELIVER_CHANNELS = ['kafka', 'alertmanager', 'webhooks'] as const;
export type RedeliverChannel = (typeof REDELIVER_CHANNELS)[number];

export interface RedeliverSummary {
  kafka: number;
  alertmanager: number;
  webhooks: number;
  /** Disabled endpoints whose dead letters were left (enable them first). */
  disabledEndpoints: string[];
}

/** Redelivers the dead letters of `channels` (all three by default); the running notifier delivers them. */
export async function redeliverDeadLetters(store: Store, channels: readonly RedeliverChannel[] = REDELIVER_CHANNELS, now = Date.now()): Promise<RedeliverSummary> {
  const summary: RedeliverSummary = { kafka: 0, alertmanager: 0, webhooks: 0, disabledEndpoints: [] };
  const kafka = channels.includes('kafka');
  const alertmanager = channels.includes('alertmanager');
  if (kafka || alertmanager) {
    const done = await store.notifyChannels.redeliverDeadLetters(kafka && alertmanager ? undefined : kafka ? 'kafka' : 'alertmanager', now);
    summary.kafka = done.kafka;
    summary.alertmanager = done.alertmanager;
  }
  if (channels.includes('webhooks')) {
    for (const endpoint of await store.webhooks.listEndpoints()) {
      if (endpoint.disabled) {
        if ((await store.webhooks.listDeadLetters({ endpointId: endpoint.id, limit: 1 })).length > 0) summary.disabledEndpoints.push(endpoint.id);
        continue;
      }
      summary.webhooks += (await store.webhooks.redeliverDeadLetters(endpoint.id, now)).length;
    }
  }
  return summary;
}
