import type { Logger } from 'pino';
import type { SlurmMapping } from '@flopwatch/contracts';
import type { ConsumedBatch, KafkaProducer, OutgoingMessage } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import { backoff, sleep } from '@flopwatch/runtime';
import type { LineageFact, Store, UsageRecord } from '@flopwatch/store';
import { raiseAlerts } from './alerts.js';
import type { RegistryView } from './registry-view.js';
import { decodeMessage, type InputKind } from './decode.js';
import type { IngestMetrics } from './metrics.js';
import { toLineageFact, toUsageRecord } from './records.js';

export interface PipelineDeps {
  store: Store;
  /** The ingest's cached view of the KYC registry, shared with the re-evaluation loop. */
  view: RegistryView;
  producer: KafkaProducer;
  pack: PolicyPack;
  slurm: SlurmMapping | null;
  metrics: IngestMetrics;
  log: Logger;
  dlqTopic: string;
  maxMessageBytes: number;
  kindOf: (topic: string) => InputKind;
  now?: () => Date;
  /** Called with false while Redis steps fail, true once they succeed again. */
  onRedisHealth?: (healthy: boolean) => void;
}

/** Header names on dead-lettered messages. */
export const DLQ_HEADERS = {
  reason: 'flopwatch-dlq-reason',
  message: 'flopwatch-dlq-message',
  topic: 'flopwatch-source-topic',
  partition: 'flopwatch-source-partition',
  offset: 'flopwatch-source-offset',
} as const;

/**
 * Processes one consumed batch: decode and validate each message, dead-letter the invalid ones,
 * apply the rest in Redis exactly once, raise the alerts the new totals call for. Resolves only when
 * all of it is done, so the consumer commits only applied batches. Redis failures are retried with
 * backoff for as long as it takes (heartbeating the group); nothing is dropped.
 */
export function createPipeline(deps: PipelineDeps) {
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ component: 'pipeline' });
  const delay = backoff({ initialMs: 100, maxMs: 5_000 });

  async function untilDone<T>(step: string, batch: ConsumedBatch, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await fn();
        if (attempt > 0) {
          log.info({ step, attempts: attempt + 1 }, 'redis step recovered');
          deps.onRedisHealth?.(true);
        }
        return result;
      } catch (err) {
        deps.metrics.redisErrors.inc();
        deps.onRedisHealth?.(false);
        if (batch.signal.aborted) throw err;
        const ms = delay(attempt);
        log.warn({ err, step, attempt, retryInMs: ms, topic: batch.topic, partition: batch.partition }, 'redis step failed, retrying');
        await batch.heartbeat().catch(() => {});
        await sleep(ms, batch.signal);
      }
    }
  }

  return async function handleBatch(batch: ConsumedBatch): Promise<void> {
    const started = performance.now();
    const { topic, partition } = batch;
    const kind = deps.kindOf(topic);
    const source = `${topic}/${partition}`;
    const ctx = { pack: deps.pack, slurm: deps.slurm, maxMessageBytes: deps.maxMessageBytes, now: now() };
    const records: UsageRecord[] = [];
    const dead: OutgoingMessage[] = [];
    const seen = new Set<string>();
    const facts: LineageFact[] = [];

    for (const m of batch.messages) {
      const decoded = decodeMessage(kind, m.value, ctx);
      if (!decoded.ok) {
        deps.metrics.deadLettered.inc({ reason: decoded.reason });
        dead.push({
          key: m.key,
          value: m.value ?? Buffer.alloc(0),
          headers: {
            ...m.headers,
            [DLQ_HEADERS.reason]: decoded.reason,
            [DLQ_HEADERS.message]: decoded.message.slice(0, 2000),
            [DLQ_HEADERS.topic]: topic,
            [DLQ_HEADERS.partition]: String(partition),
            [DLQ_HEADERS.offset]: m.offset,
          },
        });
        continue;
      }
      for (const event of decoded.events) {
        // CloudEvents identity is source + id: a copy within the batch is dropped here already.
        const identity = `${event.source}\u0000${event.id}`;
        if (seen.has(identity)) continue;
        seen.add(identity);
        records.push(toUsageRecord(event, m.offset, deps.pack));
        const fact = toLineageFact(event);
        if (fact && (fact.parentId || fact.checkpointIn || fact.checkpointOut)) facts.push(fact);
      }
    }
    deps.metrics.consumed.inc({ topic }, batch.messages.length);
    deps.metrics.batchSize.observe(batch.messages.length);

    // Dead letters go out before the batch commits: a crash in between re-sends them (at least once).
    if (dead.length > 0) await deps.producer.send(deps.dlqTopic, dead);

    if (records.length > 0) {
      const applyStarted = performance.now();
      const results = await untilDone('apply', batch, () => deps.store.accounting.applyBatch(source, records));
      deps.metrics.applySeconds.observe((performance.now() - applyStarted) / 1000);
      let applied = 0;
      let skipped = 0;
      for (const r of results) {
        applied += r.applied;
        skipped += r.skipped;
      }
      deps.metrics.applied.inc({ topic }, applied);
      deps.metrics.skipped.inc({ topic }, skipped);
      if (applied > 0) countOperations(deps.metrics, records);
      // Links from checkpoints and declared parents: idempotent, so a retried batch repeats them harmlessly.
      const links = facts.length > 0 ? await untilDone('lineage-links', batch, () => deps.store.lineageLinks.observe(facts)) : [];
      const linked = links.map((l) => l.lineageId);
      const raised = await untilDone('alerts', batch, async () => {
        await deps.view.refresh(); // a KYC change takes effect in the next batch
        return raiseAlerts(results, { store: deps.store, pack: deps.pack, view: deps.view, now }, linked);
      });
      for (const a of raised) {
        deps.metrics.alerts.inc({ rule: a.rule, severity: a.severity });
        log.info({ alertId: a.id, rule: a.rule, scope: a.scope, subject: a.subject, level: a.level, severity: a.severity }, 'alert raised');
      }
    }
    const last = batch.messages.at(-1);
    if (last) {
      await untilDone('progress', batch, () => deps.store.accounting.recordProgress(source, last.offset));
      deps.metrics.lastApplied.set({ topic, partition }, Date.now() / 1000);
      deps.metrics.lastOffset.set({ topic, partition }, Number(last.offset));
    }
    deps.metrics.batchSeconds.observe((performance.now() - started) / 1000);
  };
}

// Metrics of operations are for dashboards (rates, breakdowns), not for the books: a redelivered
// batch may count here twice, while Redis never does. Summed per label set first: a labelled
// counter's increment costs more than the arithmetic.
function countOperations(metrics: IngestMetrics, records: UsageRecord[]): void {
  const sums = new Map<string, { tier: string; model: string; estimate: number; upper: number; gpuSeconds: number }>();
  for (const r of records) {
    const key = `${r.tier}\u0000${r.acceleratorId}`;
    let s = sums.get(key);
    if (!s) {
      s = { tier: String(r.tier), model: r.acceleratorId, estimate: 0, upper: 0, gpuSeconds: 0 };
      sums.set(key, s);
    }
    const ms = r.endMs - r.startMs;
    s.estimate += ms * r.teraOpsPerMs * 1e12;
    s.upper += ms * r.upperTeraOpsPerMs * 1e12;
    s.gpuSeconds += (r.milliGpus / 1000) * (ms / 1000);
  }
  for (const { tier, model, estimate, upper, gpuSeconds } of sums.values()) {
    metrics.operations.inc({ tier, model, kind: 'estimate' }, estimate);
    metrics.operations.inc({ tier, model, kind: 'upper_bound' }, upper);
    metrics.gpuSeconds.inc({ tier, model }, gpuSeconds);
  }
}
