import type { Logger } from 'pino';
import type { DlqReason, SlurmMapping } from '@flopwatch/contracts';
import { fitRecord, recordsTooLarge, type ConsumedBatch, type KafkaProducer, type OutgoingMessage } from '@flopwatch/kafka';
import type { PolicyPack } from '@flopwatch/policy';
import { backoff, sleep } from '@flopwatch/runtime';
import { isTransientRedisError, type RejectedRecord, type Store, type TenantApplyResult, type UsageRecord } from '@flopwatch/store';
import { raiseAlerts } from './alerts.js';
import type { RegistryView } from './registry-view.js';
import { createDecoder, type Decoded, type InputKind } from './decode.js';
import type { IngestMetrics } from './metrics.js';

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

/** Messages decoded between two yields to I/O. */
const DECODE_SLICE = 256;
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Header names on dead-lettered messages. */
export const DLQ_HEADERS = {
  reason: 'flopwatch-dlq-reason',
  message: 'flopwatch-dlq-message',
  topic: 'flopwatch-source-topic',
  partition: 'flopwatch-source-partition',
  offset: 'flopwatch-source-offset',
  /** On a truncated copy (reason message_too_large): the reason the message was dead-lettered for. */
  originalReason: 'flopwatch-dlq-original-reason',
  /** On a truncated copy: the bytes of the original value. */
  originalBytes: 'flopwatch-dlq-original-bytes',
} as const;

/** Bytes of the key kept on a truncated copy (keys are tenant ids; a huge one is cut too). */
const COPY_KEY_BYTES = 1024;

/**
 * The dead letter sent in place of one larger than the DLQ topic accepts: the source coordinates,
 * the reason it was refused for, its original size and as much of its value as fits; its original
 * headers are left out (they may be what made it large).
 */
function truncatedCopy(letter: OutgoingMessage, limit: number): OutgoingMessage {
  const h = letter.headers ?? {};
  const value = typeof letter.value === 'string' ? Buffer.from(letter.value) : letter.value;
  const key = letter.key === null || letter.key === undefined ? null : Buffer.from(letter.key).subarray(0, COPY_KEY_BYTES);
  const headers: Record<string, string | Buffer> = {
    [DLQ_HEADERS.reason]: 'message_too_large' satisfies DlqReason,
    [DLQ_HEADERS.originalReason]: String(h[DLQ_HEADERS.reason] ?? ''),
    [DLQ_HEADERS.message]: `dead letter of ${value.length} bytes exceeds the dead-letter topic's ${limit}-byte max.message.bytes; value truncated. ${String(h[DLQ_HEADERS.message] ?? '')}`.slice(0, 500),
    [DLQ_HEADERS.topic]: String(h[DLQ_HEADERS.topic] ?? ''),
    [DLQ_HEADERS.partition]: String(h[DLQ_HEADERS.partition] ?? ''),
    [DLQ_HEADERS.offset]: String(h[DLQ_HEADERS.offset] ?? ''),
    [DLQ_HEADERS.originalBytes]: String(value.length),
  };
  // These headers fit any sensible limit (well under 1 KiB); below that, the reason and coordinates alone.
  const bare = Object.fromEntries([DLQ_HEADERS.reason, DLQ_HEADERS.topic, DLQ_HEADERS.partition, DLQ_HEADERS.offset].map((name) => [name, headers[name]!]));
  return fitRecord({ key, value, headers }, limit) ?? { key: null, value: Buffer.alloc(0), headers: bare };
}

/**
 * Processes one consumed batch: decode and validate each message, apply the valid reports in Redis
 * by covered time, dead-letter what is invalid or refused by the books, raise the alerts the new
 * totals call for. Every message ends counted, accounted for as covered, or dead-lettered. Resolves
 * only when all of it is done, so the consumer commits only handled batches. Transient Redis
 * failures are retried with backoff for as long as it takes (heartbeating the group); nothing is
 * dropped. A deterministic failure of the accounting script is not retried: the records it concerns
 * are dead-lettered (`apply_failed`) and the rest counted.
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
        if (!isTransientRedisError(err)) throw err;
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

  /**
   * A step that failed for a reason retrying cannot cure (a bug, a malformed record) must not stall
   * the partition: the books are already written, alerts are state-based, and the alerts step's
   * subjects stay in the pending evaluations, retried by the re-evaluation loop. It is logged at
   * error level and counted.
   */
  async function orReport<T>(step: string, work: Promise<T>, fallback: T): Promise<T> {
    try {
      return await work;
    } catch (err) {
      if (isTransientRedisError(err)) throw err; // the batch was aborted while retrying
      deps.metrics.stepFailures.inc({ step });
      log.error({ err, step }, 'batch step failed permanently; continuing without it');
      return fallback;
    }
  }

  /**
   * Sends dead letters (the producer splits them by the DLQ topic's max.message.bytes) and counts
   * each under the reason it went with. One too large for the DLQ topic is sent after the others as a
   * truncated copy (`message_too_large`, its coordinates and first reason in headers), so the
   * partition moves on: never retried forever, never dropped.
   */
  async function sendDeadLetters(letters: OutgoingMessage[], batch: ConsumedBatch): Promise<void> {
    const count = (list: OutgoingMessage[]) => {
      for (const l of list) deps.metrics.deadLettered.inc({ reason: String(l.headers?.[DLQ_HEADERS.reason]) });
    };
    try {
      await deps.producer.send(deps.dlqTopic, letters);
      count(letters);
      return;
    } catch (err) {
      const tooLarge = recordsTooLarge(err);
      if (!tooLarge) throw err;
      const skipped = new Set(tooLarge.records.map((r) => r.index));
      count(letters.filter((_, i) => !skipped.has(i)));
      const copies = tooLarge.records.map(({ index, bytes }) => {
        const letter = letters[index]!;
        log.warn(
          { topic: batch.topic, partition: batch.partition, offset: String(letter.headers?.[DLQ_HEADERS.offset]), reason: String(letter.headers?.[DLQ_HEADERS.reason]), bytes, dlqMaxMessageBytes: tooLarge.limit },
          'dead letter larger than the DLQ topic accepts; sending a truncated copy',
        );
        return truncatedCopy(letter, tooLarge.limit);
      });
      // Each copy fits the limit just read; a failure here fails the batch, which is redelivered.
      await deps.producer.send(deps.dlqTopic, copies);
      count(copies);
    }
  }

  const decode = createDecoder({ pack: deps.pack, slurm: deps.slurm, maxMessageBytes: deps.maxMessageBytes });
  let decoding: Promise<void> = Promise.resolve();

  return async function handleBatch(batch: ConsumedBatch): Promise<void> {
    const started = performance.now();
    const { topic, partition } = batch;
    const kind = deps.kindOf(topic);
    const nowMs = now().getTime();
    const decoded: Decoded = { records: [], facts: [] };
    const dead: OutgoingMessage[] = [];
    const deadLetter = (m: (typeof batch.messages)[number], reason: DlqReason, message: string) => {
      dead.push({
        key: m.key,
        value: m.value ?? Buffer.alloc(0),
        headers: {
          ...m.headers,
          [DLQ_HEADERS.reason]: reason,
          [DLQ_HEADERS.message]: message.slice(0, 2000),
          [DLQ_HEADERS.topic]: topic,
          [DLQ_HEADERS.partition]: String(partition),
          [DLQ_HEADERS.offset]: m.offset,
        },
      });
    };

    // Copies of one event (same source and id, within the batch or across) are not dropped here:
    // the books count them as covered time, so they show in the covered metrics.
    // Batches of a fetch are decoded one after another, each yielding to I/O every few hundred
    // messages: the first batch reaches Redis as soon as it is decoded and its replies are read
    // while the next one decodes, so Node's work and Redis's overlap instead of adding up.
    const turn = decoding.then(async () => {
      let i = 0;
      for (const m of batch.messages) {
        const refusal = decode(kind, m.value, m.offset, nowMs, decoded);
        if (refusal) deadLetter(m, refusal.reason, refusal.message);
        if (++i % DECODE_SLICE === 0) await yieldToIo();
      }
    });
    decoding = turn.catch(() => {});
    await turn;
    const { records, facts } = decoded;
    deps.metrics.consumed.inc({ topic }, batch.messages.length);
    deps.metrics.batchSize.observe(batch.messages.length);
    // What the batch needs besides the apply runs beside it; the batch resolves (and commits) only
    // once all of it is done. Invalid messages' dead letters go out while the books are written.
    // Sends are chained, so dead letters keep their order on the DLQ topic.
    let sending: Promise<unknown> = Promise.resolve();
    const send = () => {
      const letters = dead.splice(0);
      sending = sending.then(() => sendDeadLetters(letters, batch));
      sending.catch(() => {}); // awaited below; a failure fails the batch, which is redelivered
    };
    if (dead.length > 0) send();

    if (records.length > 0) {
      // The registry's version is read beside the apply: a KYC change takes effect in the next batch.
      const refreshed: Promise<void> = deps.view.refresh();
      refreshed.catch(() => {}); // awaited (and retried) by the alert step
      const applyStarted = performance.now();
      const results = await untilDone('apply', batch, () => deps.store.accounting.applyBatch(records, { originOf: (r) => originOf(batch, r.offset) }));
      deps.metrics.applySeconds.observe((performance.now() - applyStarted) / 1000);
      countOutcomes(deps.metrics, topic, results);
      // A message is dead-lettered once, with the first refusal among its reports (a Slurm record
      // carries several); its other reports may have counted, and a replay counts only the rest.
      const refused = new Map<string, RejectedRecord>();
      for (const r of results) for (const rej of r.rejected) if (!refused.has(rej.record.offset)) refused.set(rej.record.offset, rej);
      if (refused.size > 0) {
        // Each refused report's time, kept once (signed statements give it); before the dead letters, so a crash repeats it harmlessly.
        await orReport('refusals', untilDone('refusals', batch, () => deps.store.accounting.recordRefused(results.flatMap((r) => r.rejected))), undefined);
        const messages = new Map(batch.messages.map((m) => [m.offset, m]));
        for (const [offset, rej] of refused) {
          log.warn({ tenantId: rej.record.tenantId, jobKey: rej.record.jobKey, node: rej.record.node, reason: rej.reason, offset }, 'report refused by the books, dead-lettered');
          deadLetter(messages.get(offset)!, rej.reason, rej.message);
        }
        send();
      }
      const counted = results.some((r) => r.counted > 0);
      if (counted) countOperations(deps.metrics, records, refused);
      // The co-scheduling record (behavioural links): beside the links and alerts, never inside the apply.
      const countedRecords = refused.size > 0 ? records.filter((r) => !refused.has(r.offset)) : records;
      const shapes = orReport('job-shapes', untilDone('job-shapes', batch, () => deps.store.jobShapes.record(countedRecords)), 0);
      shapes.catch(() => {}); // awaited below
      // Links from checkpoints and declared parents: idempotent, so a retried batch repeats them harmlessly.
      const links = facts.length > 0 ? await orReport('lineage-links', untilDone('lineage-links', batch, () => deps.store.lineageLinks.observe(facts)), []) : [];
      const linked = links.map((l) => l.lineageId);
      let refresh: Promise<void> | undefined = refreshed; // a retry reads the version again
      // Subjects are kept as pending evaluations before the attempt and cleared after it: whatever
      // stops it, the re-evaluation loop retries them (reevaluate.ts), so no alert is dropped.
      const raised = await orReport('alerts', untilDone('alerts', batch, async () => {
        const pending = refresh;
        refresh = undefined;
        await (pending ?? deps.view.refresh());
        return raiseAlerts(results, { store: deps.store, pack: deps.pack, view: deps.view, now }, linked);
      }).catch((err: unknown) => {
        // Retryable but not a Redis failure (a case that kept changing): deferred, not failed.
        if (isTransientRedisError(err) || (err as { retryable?: unknown }).retryable !== true) throw err;
        deps.metrics.evaluationsDeferred.inc({ source: 'batch' });
        log.warn({ err }, 'alert evaluation deferred: kept as pending, the re-evaluation loop retries it');
        return [];
      }), []);
      await shapes;
      for (const a of raised) {
        deps.metrics.alerts.inc({ rule: a.rule, severity: a.severity });
        log.info({ alertId: a.id, rule: a.rule, scope: a.scope, subject: a.subject, level: a.level, severity: a.severity }, 'alert raised');
      }
    }

    // Dead letters are out before the batch commits: a crash in between re-sends them (at least once).
    await sending;
    const last = batch.messages.at(-1);
    if (last) {
      deps.metrics.lastApplied.set({ topic, partition }, Date.now() / 1000);
      deps.metrics.lastOffset.set({ topic, partition }, Number(last.offset));
    }
    deps.metrics.batchSeconds.observe((performance.now() - started) / 1000);
  };
}

/**
 * The id and source of the event a report came from, read again from its message: only a report that
 * conflicts needs them (evidence), so the hot path does not keep two more strings per record.
 */
function originOf(batch: ConsumedBatch, offset: string): { eventId: string | null; source: string | null } {
  const m = batch.messages.find((x) => x.offset === offset);
  try {
    const parsed = JSON.parse(m?.value?.toString('utf8') ?? 'null') as { id?: unknown; source?: unknown } | null;
    return { eventId: typeof parsed?.id === 'string' ? parsed.id : null, source: typeof parsed?.source === 'string' ? parsed.source : `${batch.topic}/${batch.partition}/${offset}` };
  } catch {
    return { eventId: null, source: `${batch.topic}/${batch.partition}/${offset}` };
  }
}

function countOutcomes(metrics: IngestMetrics, topic: string, results: TenantApplyResult[]): void {
  let counted = 0;
  let duplicates = 0;
  let overlaps = 0;
  let duplicateGpuUs = 0;
  let overlapGpuUs = 0;
  let measuredGpuUs = 0;
  let prunedGpuUs = 0;
  let supersededGpuUs = 0;
  for (const r of results) {
    counted += r.counted;
    duplicates += r.duplicates;
    overlaps += r.overlaps;
    duplicateGpuUs += r.covered.duplicateGpuMicroseconds;
    overlapGpuUs += r.covered.overlapGpuMicroseconds;
    measuredGpuUs += r.covered.measuredGpuMicroseconds;
    prunedGpuUs += r.covered.prunedGpuMicroseconds;
    supersededGpuUs += r.supersededGpuMicroseconds;
    for (const [cluster, c] of r.coverageByCluster) {
      if (c.measuredGpuMicroseconds > 0) metrics.measuredGpuSeconds.inc({ cluster }, c.measuredGpuMicroseconds / 1e6);
      if (c.allocatedGpuMicroseconds > 0) metrics.allocatedGpuSeconds.inc({ cluster }, c.allocatedGpuMicroseconds / 1e6);
    }
    for (const c of r.conflicts) {
      const kind = c.record.measured ? 'measured' : 'allocated';
      metrics.conflicts.inc({ kind });
      metrics.conflictGpuSeconds.inc({ kind }, c.overlapGpuMicroseconds / 1e6);
    }
  }
  metrics.applied.inc({ topic }, counted);
  metrics.covered.inc({ reason: 'duplicate' }, duplicates);
  metrics.covered.inc({ reason: 'overlap' }, overlaps);
  metrics.coveredGpuSeconds.inc({ reason: 'duplicate' }, duplicateGpuUs / 1e6);
  metrics.coveredGpuSeconds.inc({ reason: 'overlap' }, overlapGpuUs / 1e6);
  if (measuredGpuUs > 0) metrics.coveredGpuSeconds.inc({ reason: 'measured' }, measuredGpuUs / 1e6);
  if (prunedGpuUs > 0) metrics.coveredGpuSeconds.inc({ reason: 'pruned' }, prunedGpuUs / 1e6);
  if (supersededGpuUs > 0) metrics.supersededGpuSeconds.inc(supersededGpuUs / 1e6);
}

// Metrics of operations are for dashboards (rates, breakdowns), not for the books: they take whole
// intervals, so a redelivered batch may count here twice, while Redis never does. Summed per label
// set first: a labelled counter's increment costs more than the arithmetic.
function countOperations(metrics: IngestMetrics, records: UsageRecord[], refused: Map<string, RejectedRecord>): void {
  // Per accelerator, then per tier (index 1-3): no key string built per record.
  const sums = new Map<string, { estimate: number; upper: number; gpuSeconds: number }[]>();
  for (const r of records) {
    if (refused.size > 0 && refused.has(r.offset)) continue;
    let byTier = sums.get(r.acceleratorId);
    if (!byTier) {
      byTier = [];
      sums.set(r.acceleratorId, byTier);
    }
    const s = (byTier[r.tier] ??= { estimate: 0, upper: 0, gpuSeconds: 0 });
    const ms = r.endMs - r.startMs;
    s.estimate += ms * r.teraOpsPerMs * 1e12;
    s.upper += ms * r.upperTeraOpsPerMs * 1e12;
    s.gpuSeconds += (r.milliGpus / 1000) * (ms / 1000);
  }
  for (const [model, byTier] of sums) {
    byTier.forEach((s, tier) => {
      const labels = { tier: String(tier), model };
      metrics.operations.inc({ ...labels, kind: 'estimate' }, s.estimate);
      metrics.operations.inc({ ...labels, kind: 'upper_bound' }, s.upper);
      metrics.gpuSeconds.inc(labels, s.gpuSeconds);
    });
  }
}
