// What the notifier does with each outbox entry, channel by channel: publish to the alerts topic,
// create one webhook delivery per matching endpoint (a dead letter for a disabled one), and put the
// alert's case on the Alertmanager schedule (resender.ts posts it). Each channel marks the entry when
// it is finished with it (settle-channel-3.lua) and the entry is acknowledged once all are: an entry
// taken over after a failure goes only to the channels still unmarked, so one failing channel never
// makes another repeat its delivery. A transient failure leaves the entry pending (taken over after
// OUTBOX_CLAIM_IDLE); a permanent one is dead-lettered at once and marks the channel. Kafka refusing
// the credentials or an ACL refusing the alerts topic is neither: nothing would pass until an
// operator acts, then everything would, so the entries are held pending (recorded with their reason,
// retried every OUTBOX_CLAIM_IDLE) while the other channels carry on. A redelivered dead letter
// (`channel` set on its entry) goes to that channel alone.
import type { Logger } from 'pino';
import { caseId, type Alert } from '@flopwatch/contracts';
import { isKafkaAuthFailure, recordsTooLarge, type KafkaProducer } from '@flopwatch/kafka';
import { isRetryable } from '@flopwatch/runtime';
import { alertMessageId, messageBody, type WebhookEventType } from '@flopwatch/webhooks';
import { matchesFilter } from './filter.js';
import type { NotifierMetrics } from './metrics.js';
import type { OutboxEntry, Store } from '@flopwatch/store';

export const CHANNELS = ['kafka', 'webhooks', 'alertmanager'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface FanOutOptions {
  store: Store;
  producer: KafkaProducer;
  topic: string;
  /** The outbox consumer group (entries are acknowledged in it). */
  group: string;
  /** Whether Alertmanager is a channel. */
  alertmanager: boolean;
  /** Acknowledges entries no channel has anything to do with (they name no alert). */
  acknowledge(entryIds: string[]): Promise<void>;
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
  const channels = store.notifyChannels;
  const log = options.log.child({ component: 'fan-out' });
  const now = options.now ?? (() => new Date());
  const required: Channel[] = options.alertmanager ? ['kafka', 'webhooks', 'alertmanager'] : ['kafka', 'webhooks'];

  async function load(entries: OutboxEntry[]): Promise<{ events: Event[]; orphans: string[] }> {
    const events: Event[] = [];
    const orphans: string[] = [];
    for (const entry of entries) {
      const alert = await store.alerts.get<Alert>(entry.alertId);
      if (!alert) {
        log.warn({ entryId: entry.entryId, alertId: entry.alertId }, 'outbox entry names no alert; skipped');
        orphans.push(entry.entryId);
        continue;
      }
      const type: WebhookEventType = entry.type === 'alert.updated' ? 'alert.updated' : 'alert.raised';
      events.push({ entry, type, alert });
    }
    return { events, orphans };
  }

  const mark = (e: Event, channel: Channel, how: 'done' | 'dead') => channels.settle(options.group, e.entry.entryId, channel, how, e.entry.channel ? [e.entry.channel] : required);
  /** Whether the Kafka channel is holding entries for refused credentials or ACL (logged once per episode). */
  let authHeld = false;

  async function deadLetter(e: Event, channel: Channel, reason: string, err: unknown): Promise<void> {
    await channels.deadLetter({ channel, reason, at: now().toISOString(), alertId: e.alert.id, type: e.type, caseId: caseId(e.alert), entryId: e.entry.entryId, error: (err as Error).message });
    metrics.channelDeadLetters.inc({ channel, reason });
    log.error({ err, alertId: e.alert.id, channel, reason }, 'alert dead-lettered on a channel');
    await mark(e, channel, 'dead');
  }

  const record = (e: Event) => ({
    key: e.alert.subject,
    value: JSON.stringify(e.alert),
    headers: { 'event-type': e.type, 'alert-id': e.alert.id, 'content-type': 'application/json' },
  });

  async function publish(events: Event[]): Promise<void> {
    if (events.length === 0) return;
    // The producer splits the alerts into requests within the topic's max.message.bytes; an alert too
    // large for any request is left out (the others are sent) and dead-lettered here, never retried.
    const refused = new Set<number>();
    try {
      await options.producer.send(options.topic, events.map(record));
    } catch (err) {
      const tooLarge = recordsTooLarge(err);
      if (isKafkaAuthFailure(err)) {
        // Held, not dead-lettered, and not thrown: the other channels go on at full speed while the
        // entries wait in the outbox for the credentials or the ACL to be fixed.
        await channels.hold('kafka', 'auth', events.map((e) => e.entry.entryId), now().getTime());
        metrics.channelHeld.inc({ channel: 'kafka', reason: 'auth' }, events.length);
        if (!authHeld) log.error({ err, topic: options.topic, entries: events.length }, 'Kafka refuses the alerts topic to the notifier (credentials or ACL); alerts are held, not dead-lettered, until an operator fixes it');
        authHeld = true;
        return;
      }
      if (isRetryable(err)) await channels.hold('kafka', 'unavailable', events.map((e) => e.entry.entryId), now().getTime());
      if (tooLarge) {
        for (const { index, bytes } of tooLarge.records) {
          refused.add(index);
          const why = new Error(`the alert's record of ${bytes} bytes exceeds the ${tooLarge.limit}-byte max.message.bytes of topic ${tooLarge.topic}`, { cause: err });
          await deadLetter(events[index]!, 'kafka', 'record_too_large', why);
        }
      } else if (isRetryable(err) || events.length === 1) {
        if (isRetryable(err)) throw err;
        return deadLetter(events[0]!, 'kafka', 'kafka_rejected', err);
      } else {
        // A permanent error names no record: send them one by one so only the bad one is dead-lettered.
        for (const e of events) await publish([e]);
        return;
      }
    }
    if (authHeld) log.info({ topic: options.topic }, 'the alerts topic accepts the notifier again; held alerts are published as they are taken over');
    authHeld = false;
    for (const [i, e] of events.entries()) {
      if (refused.has(i)) continue;
      metrics.published.inc({ type: e.type });
      await mark(e, 'kafka', 'done');
    }
  }

  async function enqueueDeliveries(events: Event[]): Promise<void> {
    if (events.length === 0) return;
    const endpoints = await store.webhooks.listEndpoints();
    for (const e of events) {
      const messageId = alertMessageId(e.alert.id, e.type, e.type === 'alert.raised' ? '' : e.entry.entryId);
      const body = messageBody(e.type, eventTime(e), e.alert);
      const matching = endpoints.filter((ep) => matchesFilter(ep.filter, e.alert));
      // A disabled endpoint's message is kept as a dead letter, redelivered once the endpoint is enabled.
      const results = await Promise.all(matching.map((ep) => store.webhooks.enqueue({
        endpointId: ep.id, messageId, eventType: e.type, alertId: e.alert.id, body, ...(ep.disabled ? { deadReason: 'endpoint_disabled' as const } : {}),
      })));
      const created = matching.filter((_, i) => results[i]!.created);
      metrics.fannedOut.inc(created.filter((ep) => !ep.disabled).length);
      const parked = created.filter((ep) => ep.disabled).length;
      if (parked > 0) metrics.deadLetters.inc({ reason: 'endpoint_disabled' }, parked);
      await mark(e, 'webhooks', 'done');
    }
  }

  async function scheduleAlertmanager(events: Event[]): Promise<void> {
    for (const e of events) {
      await channels.trackCase(caseId(e.alert), e.alert, e.alert.id, now().getTime());
      await mark(e, 'alertmanager', 'done');
    }
  }

  /** Runs one channel over the events it has not finished; a failure is kept for the caller and does not stop the other channels. */
  async function run(channel: Channel, events: Event[], marks: Map<string, Map<string, string>>, step: (events: Event[]) => Promise<void>, failures: unknown[]) {
    const todo = events.filter((e) => (e.entry.channel ?? channel) === channel && !marks.get(e.entry.entryId)?.has(channel));
    try {
      await step(todo);
    } catch (err) {
      failures.push(err);
      log.warn({ err, channel, entries: todo.length }, 'channel failed; its entries stay pending and are taken over later');
    }
  }

  return {
    /**
     * Hands a batch of entries to every channel not yet finished with them; entries are acknowledged
     * as their last channel finishes. Throws the first channel failure after trying all channels.
     */
    async handle(entries: OutboxEntry[]): Promise<void> {
      const { events, orphans } = await load(entries);
      await options.acknowledge(orphans);
      await channels.release('kafka', orphans);
      const marks = await channels.marks(events.map((e) => e.entry.entryId));
      const failures: unknown[] = [];
      await run('kafka', events, marks, publish, failures);
      await run('webhooks', events, marks, enqueueDeliveries, failures);
      if (options.alertmanager) await run('alertmanager', events, marks, scheduleAlertmanager, failures);
      log.debug({ entries: entries.length, alerts: events.length, failures: failures.length }, 'outbox entries handled');
      if (failures.length > 0) throw failures[0];
    },
  };
}

export type FanOut = ReturnType<typeof createFanOut>;
