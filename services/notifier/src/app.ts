import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createProducer, ensureTopics, type KafkaClient, type KafkaProducer } from '@flopwatch/kafka';
import { backoff, sleep } from '@flopwatch/runtime';
import type { Store } from '@flopwatch/store';
import type { RetryPolicy, UrlPolicy } from '@flopwatch/webhooks';
import type { AlertmanagerOptions } from './alertmanager.js';
import { createDeliverer } from './deliverer.js';
import { createFanOut } from './fan-out.js';
import { createNotifierMetrics } from './metrics.js';
import { createResender } from './resender.js';

export interface NotifierWebhookOptions {
  policy: UrlPolicy;
  retry: RetryPolicy;
  timeoutMs: number;
  maxResponseBytes: number;
  concurrency: number;
  disableAfterMs: number;
}

export interface NotifierDeps {
  kafka: KafkaClient;
  store: Store;
  metricsRegistry: Registry;
  log: Logger;
  topic: { name: string; partitions: number };
  outbox: { group: string; consumer: string; claimIdleMs: number; batchSize?: number };
  /** How long an idle loop waits before looking again. */
  pollIntervalMs: number;
  webhooks: NotifierWebhookOptions;
  /** Null: do not post to Alertmanager. */
  alertmanager: AlertmanagerOptions | null;
}

export interface Notifier {
  /** Creates the topic and the outbox group, then runs the outbox and delivery loops. */
  start(): Promise<void>;
  readiness(): { ready: boolean; checks: Record<string, unknown> };
  /** Finishes the steps in flight and stops; idempotent. */
  close(): Promise<void>;
}

/** The notifier: outbox → Kafka, webhook deliveries and Alertmanager; then delivers webhooks with retries. */
export function createNotifier(deps: NotifierDeps): Notifier {
  const log = deps.log.child({ component: 'notifier' });
  const outbox = deps.store.outbox({
    group: deps.outbox.group,
    consumer: deps.outbox.consumer,
    claimIdleMs: deps.outbox.claimIdleMs,
    batchSize: deps.outbox.batchSize ?? 100,
  });
  const metrics = createNotifierMetrics(deps.metricsRegistry, {
    outboxLag: () => outbox.lag(),
    pendingDeliveries: () => deps.store.webhooks.pendingCount(),
    held: async () => [await deps.store.notifyChannels.held('kafka')],
  });
  const deliverer = createDeliverer({ store: deps.store, metrics, log, ...deps.webhooks });
  const abort = new AbortController();
  const health: Partial<Record<'outbox' | 'deliveries' | 'alertmanager', boolean>> = { outbox: false, deliveries: false, ...(deps.alertmanager ? { alertmanager: false } : {}) };
  let producer: KafkaProducer | undefined;
  let loops: Promise<void>[] = [];
  let closing: Promise<void> | undefined;

  /** Runs `step` until closed: again at once while it finds work, after the poll interval when idle, with backoff after errors. */
  async function loop(name: keyof typeof health, step: () => Promise<boolean>): Promise<void> {
    const delay = backoff({ initialMs: deps.pollIntervalMs, maxMs: 30_000 });
    let failures = 0;
    while (!abort.signal.aborted) {
      try {
        const busy = await step();
        health[name] = true;
        failures = 0;
        if (!busy) await sleep(deps.pollIntervalMs, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) break;
        health[name] = false;
        if (name === 'outbox') metrics.outboxErrors.inc();
        log.warn({ err, loop: name, failures: ++failures }, 'notifier step failed; retrying');
        await sleep(delay(failures), abort.signal).catch(() => undefined);
      }
    }
  }

  return {
    async start() {
      await ensureTopics(deps.kafka, [{ topic: deps.topic.name, partitions: deps.topic.partitions }]);
      producer = createProducer(deps.kafka, { idempotent: true, log });
      await producer.connect();
      await outbox.ensureGroup();
      const fanOut = createFanOut({
        store: deps.store, producer, topic: deps.topic.name, group: deps.outbox.group, alertmanager: deps.alertmanager !== null,
        acknowledge: (ids) => outbox.ack(ids), metrics, log,
      });
      loops = [
        loop('outbox', async () => {
          const entries = await outbox.read();
          if (entries.length === 0) return false;
          await fanOut.handle(entries);
          return true;
        }),
        loop('deliveries', async () => (await deliverer.tick()) > 0),
      ];
      if (deps.alertmanager) {
        const resender = createResender({ store: deps.store, alertmanager: deps.alertmanager, metrics, log });
        loops.push(loop('alertmanager', async () => (await resender.tick()) > 0));
      }
    },
    readiness() {
      // Alertmanager's schedule lives in Redis like the rest; a down Alertmanager is retried inside the loop, never unready.
      return { ready: loops.length > 0 && !abort.signal.aborted && health.outbox === true && health.deliveries === true, checks: { ...health } };
    },
    close() {
      closing ??= (async () => {
        abort.abort(new Error('notifier closing'));
        await Promise.allSettled(loops);
        await producer?.close();
      })();
      return closing;
    },
  };
}
