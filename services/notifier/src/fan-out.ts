// What the notifier does with each outbox entry: publish to Kafka, create one webhook delivery per
// matching endpoint, post to Alertmanager. Every step is idempotent (deterministic delivery ids,
// Alertmanager's dedup by labels, consumers dedup Kafka records by alert id), so an entry processed
// twice after a crash changes nothing; the entry is acknowledged only after all three succeeded.
import type { Logger } from 'pino';
import type { Alert } from '@flopwatch/contracts';
import type { KafkaProducer } from '@flopwatch/kafka';
import type { Store } from '@flopwatch/store';
import { alertMessageId, messageBody, type WebhookEventType } from '@flopwatch/webhooks';
import { postAlerts, toPostableAlert, type AlertmanagerOptions } from './alertmanager.js';
import { matchesFilter } from './filter.js';
import type { NotifierMetrics } from './metrics.js';
import type { OutboxEntry } from './outbox.js';

export interface FanOutOptions {
  store: Store;
  producer: KafkaProducer;
  topic: string;
  alertmanager: AlertmanagerOptions | null;
  metrics: NotifierMetrics;
  log: Logger;
  now?: () => Date;
}

interface Event {
  entry: OutboxEntry;
  type: WebhookEventType;
  alert: Alert;
}

/** When the event happened: raising is the alert's own time, an update the outbox entry's. */
function eventTime(e: Event): string {
  if (e.type === 'alert.raised') return e.alert.raisedAt;
  return new Date(Number(e.entry.entryId.split('-')[0])).toISOString();
}

export function createFanOut(options: FanOutOptions) {
  const { store, metrics } = options;
  const log = options.log.child({ component: 'fan-out' });
  const now = options.now ?? (() => new Date());

  async function load(entries: OutboxEntry[]): Promise<Event[]> {
    const events: Event[] = [];
    for (const entry of entries) {
      const alert = await store.alerts.get<Alert>(entry.alertId);
      if (!alert) {
        log.warn({ entryId: entry.entryId, alertId: entry.alertId }, 'outbox entry names no alert; skipped');
        continue;
      }
      const type: WebhookEventType = entry.type === 'alert.updated' ? 'alert.updated' : 'alert.raised';
      events.push({ entry, type, alert });
    }
    return events;
  }

  async function publish(events: Event[]): Promise<void> {
    if (events.length === 0) return;
    await options.producer.send(options.topic, events.map((e) => ({
      key: e.alert.subject,
      value: JSON.stringify(e.alert),
      headers: { 'event-type': e.type, 'alert-id': e.alert.id, 'content-type': 'application/json' },
    })));
    for (const e of events) metrics.published.inc({ type: e.type });
  }

  async function enqueueDeliveries(events: Event[]): Promise<void> {
    const endpoints = (await store.webhooks.listEndpoints()).filter((ep) => !ep.disabled);
    for (const e of events) {
      const messageId = alertMessageId(e.alert.id, e.type, e.type === 'alert.raised' ? '' : e.entry.entryId);
      const body = messageBody(e.type, eventTime(e), e.alert);
      const matching = endpoints.filter((ep) => matchesFilter(ep.filter, e.alert));
      const results = await Promise.all(matching.map((ep) => store.webhooks.enqueue({ endpointId: ep.id, messageId, eventType: e.type, alertId: e.alert.id, body })));
      metrics.fannedOut.inc(results.filter((r) => r.created).length);
    }
  }

  async function notifyAlertmanager(events: Event[]): Promise<void> {
    if (!options.alertmanager || events.length === 0) return;
    const am = options.alertmanager;
    try {
      await postAlerts(am, events.map((e) => toPostableAlert(e.alert, am, now())));
      metrics.alertmanager.inc({ result: 'ok' });
    } catch (err) {
      metrics.alertmanager.inc({ result: 'error' });
      throw err;
    }
  }

  return {
    /** Handles a batch of entries; returns the entry ids to acknowledge (all of them), or throws and acknowledges none. */
    async handle(entries: OutboxEntry[]): Promise<string[]> {
      const events = await load(entries);
      await publish(events);
      await enqueueDeliveries(events);
      await notifyAlertmanager(events);
      log.debug({ entries: entries.length, alerts: events.length }, 'outbox entries handled');
      return entries.map((e) => e.entryId);
    },
  };
}

export type FanOut = ReturnType<typeof createFanOut>;
