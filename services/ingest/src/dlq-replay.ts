// `pnpm dlq:replay`: re-publishes dead letters of chosen reasons to the topic they came from, e.g.
// after the catalog learned an accelerator model. Counting a replayed event once is the ingest's job
// (covered time per slice, docs/accounting.md): a second replay re-publishes again and counts nothing twice.
import { DLQ_REASONS, type DlqReason } from '@flopwatch/contracts';
import { createProducer, readTopicRange, type ConsumedMessage, type KafkaClient, type KafkaProducer, type OutgoingMessage } from '@flopwatch/kafka';
import { AppError, parseDuration } from '@flopwatch/runtime';
import type { Logger } from 'pino';
import { DLQ_HEADERS } from './pipeline.js';

/** Header naming where a replayed message was read: `<dlq topic>/<partition>/<offset>`. */
export const REPLAYED_FROM_HEADER = 'flopwatch-replayed-from';

/** Headers the ingest adds when dead-lettering; a replay strips them (and any other of these prefixes). */
const STRIPPED_PREFIXES = [...new Set(Object.values(DLQ_HEADERS).map((h) => h.slice(0, h.indexOf('-', 'flopwatch-'.length) + 1)))];

export const DLQ_REPLAY_ERROR_CODES = [
  'DLQ_REPLAY_USAGE', // a bad argument: unknown or missing reason, unreadable time
] as const;
export type DlqReplayErrorCode = (typeof DLQ_REPLAY_ERROR_CODES)[number];

/** A bad argument (unknown reason, unreadable time); never retryable. */
export class DlqReplayError extends AppError<DlqReplayErrorCode> {}

/** Parses `unknown_accelerator,unmapped_partition`; an unknown or missing reason throws, listing the valid ones. */
export function parseReasons(list: string | undefined): DlqReason[] {
  const valid = DLQ_REASONS.join(', ');
  const names = (list ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new DlqReplayError('DLQ_REPLAY_USAGE', `--reason is required: one or more of ${valid} (comma-separated)`);
  const unknown = names.filter((n) => !(DLQ_REASONS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new DlqReplayError('DLQ_REPLAY_USAGE', `unknown reason${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; valid reasons: ${valid}`, {
      details: { unknown, valid: [...DLQ_REASONS] },
    });
  }
  // A `message_too_large` dead letter is a truncated copy: replayed, it would be dead-lettered again.
  // Its original is on the source topic at the coordinates its headers name.
  if (names.includes('message_too_large')) {
    throw new DlqReplayError('DLQ_REPLAY_USAGE', 'message_too_large dead letters are truncated copies and cannot be replayed: read each original at its flopwatch-source-topic, -partition and -offset (docs/operations.md, "Dead letters too large for the DLQ")', {
      details: { unreplayable: ['message_too_large'] },
    });
  }
  return [...new Set(names)] as DlqReason[];
}

/** An RFC 3339 time (`2026-11-01T00:00:00Z`) or a duration before `now` (`7d`, `12h`, `30m`, `90s`, `2w`), as ms. */
export function parseTime(value: string, now: number, flag: string): number {
  const duration = parseDuration(value, { unitRequired: true });
  if (duration !== null) return now - duration;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value.trim())) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new DlqReplayError('DLQ_REPLAY_USAGE', `${flag} ${JSON.stringify(value)} is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a duration (7d, 12h, 30m, 90s, 2w)`);
}

export interface DlqReplayProgress {
  read: number;
  total: number;
  selected: number;
  republished: number;
}

export interface DlqReplayOptions {
  kafka: KafkaClient;
  dlqTopic: string;
  reasons: readonly DlqReason[];
  /** Only dead letters written at or after this time (ms); the read starts there. */
  since?: number;
  /** Only dead letters written before this time (ms). */
  until?: number;
  /** Count what would be re-published, publish nothing. */
  dryRun?: boolean;
  log: Logger;
  onProgress?(progress: DlqReplayProgress): void;
  /** Messages per send (default 500). */
  sendBatch?: number;
}

export interface DlqReplaySummary {
  dlqTopic: string;
  /** Dead letters read (the topic from the start or `since` to its end when the replay began). */
  scanned: number;
  /** Of those, the ones of a chosen reason within the time window. */
  selected: number;
  /** Re-published (0 on a dry run). */
  republished: number;
  /** Selected but not re-publishable: no source-topic header, or no value. */
  unroutable: number;
  /**
   * Of a chosen reason but skipped: dead letters of an earlier replay whose original (named in their
   * `flopwatch-replayed-from`) this run re-publishes. Without this, every replay would add another
   * copy of an event that is still invalid.
   */
  copies: number;
  /** Selected per source topic, then per reason. */
  bySource: Record<string, Partial<Record<DlqReason, number>>>;
  dryRun: boolean;
  /** DLQ partitions not read to their end (a stalled partition); empty when the scan completed. */
  incompletePartitions: number[];
}

/** The headers a replayed message carries: the original ones, without the dead-letter and source headers. */
export function replayHeaders(dead: ConsumedMessage, from: string): Record<string, Buffer | string> {
  const out: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(dead.headers)) {
    if (STRIPPED_PREFIXES.some((p) => name.startsWith(p)) || name === REPLAYED_FROM_HEADER) continue;
    out[name] = value;
  }
  out[REPLAYED_FROM_HEADER] = from;
  return out;
}

/**
 * Reads the dead-letter topic from its start (or `since`) to its end at the time of the call, and
 * re-publishes every message of a chosen reason to its `flopwatch-source-topic` with its original key,
 * value and headers (minus the flopwatch-dlq-* and flopwatch-source-* ones, plus
 * `flopwatch-replayed-from`), through the idempotent producer. Each DLQ batch is sent before the next
 * is read, so a failure stops the replay with everything before it re-published; running it again is
 * safe because the ingest counts each covered interval once.
 */
export async function replayDeadLetters(options: DlqReplayOptions): Promise<DlqReplaySummary> {
  const { kafka, dlqTopic, log } = options;
  const reasons = new Set<string>(options.reasons);
  const dryRun = options.dryRun ?? false;
  const sendBatch = options.sendBatch ?? 500;
  const summary: DlqReplaySummary = { dlqTopic, scanned: 0, selected: 0, republished: 0, unroutable: 0, copies: 0, bySource: {}, dryRun, incompletePartitions: [] };
  let producer: KafkaProducer | undefined;
  let total = 0;
  // DLQ positions (`partition/offset`) this run re-publishes: the dead letter an earlier replay of one
  // of them produced (its flopwatch-replayed-from names it) is then a copy, and skipped. The ingest
  // writes that copy with the same key, so to the same DLQ partition, after its original.
  const replayedHere = new Set<string>();
  const isCopyOfReplayed = (m: ConsumedMessage): boolean => {
    const from = m.headers[REPLAYED_FROM_HEADER]?.toString();
    return from !== undefined && from.startsWith(`${dlqTopic}/`) && replayedHere.has(from.slice(dlqTopic.length + 1));
  };
  const progress = () => options.onProgress?.({ read: summary.scanned, total, selected: summary.selected, republished: summary.republished });

  try {
    const result = await readTopicRange(kafka, {
      topic: dlqTopic,
      ...(options.since === undefined ? {} : { fromTimestamp: options.since }),
      log,
      onProgress: (p) => {
        total = p.total;
      },
      async onMessages(partition, messages) {
        const outgoing = new Map<string, OutgoingMessage[]>();
        for (const m of messages) {
          summary.scanned += 1;
          const reason = m.headers[DLQ_HEADERS.reason]?.toString();
          if (reason === undefined || !reasons.has(reason)) continue;
          if (options.since !== undefined && m.timestamp < options.since) continue;
          if (options.until !== undefined && m.timestamp >= options.until) continue;
          if (isCopyOfReplayed(m)) {
            summary.copies += 1;
            continue;
          }
          summary.selected += 1;
          const source = m.headers[DLQ_HEADERS.topic]?.toString();
          if (!source || m.value === null) {
            summary.unroutable += 1;
            log.warn({ partition, offset: m.offset, reason }, 'dead letter without a source topic or value: not re-published');
            continue;
          }
          const bySource = (summary.bySource[source] ??= {});
          bySource[reason as DlqReason] = (bySource[reason as DlqReason] ?? 0) + 1;
          replayedHere.add(`${partition}/${m.offset}`);
          const list = outgoing.get(source) ?? [];
          list.push({ key: m.key, value: m.value, headers: replayHeaders(m, `${dlqTopic}/${partition}/${m.offset}`) });
          outgoing.set(source, list);
        }
        if (!dryRun) {
          for (const [source, list] of outgoing) {
            producer ??= createProducer(kafka, { idempotent: true, log });
            for (let i = 0; i < list.length; i += sendBatch) {
              const chunk = list.slice(i, i + sendBatch);
              await producer.send(source, chunk);
              summary.republished += chunk.length;
            }
          }
        }
        progress();
      },
    });
    summary.incompletePartitions = result.incomplete.map((r) => r.partition);
    progress();
  } finally {
    await producer?.close();
  }
  log.info({ ...summary }, dryRun ? 'dlq replay dry run finished' : 'dlq replay finished');
  return summary;
}
