// The audit chain's copy outside Redis: every sealed entry is published to a Kafka topic
// (compliance.audit.v1), so the record survives the loss of Redis and `verify` can compare the two.
// The sealing script copies each sealed entry to an outbox stream in the same step; the sealer that
// holds the lease sends the outbox, oldest first, and removes what the broker acknowledged. A crash
// between the two sends entries again: at least once, each keyed by its seq, so readers drop the
// repeats. The topic has one partition (one order) and its retention set by configuration.
import type { Logger } from 'pino';
import { ensureTopics, readTopicRange, recordsTooLarge, type KafkaClient, type KafkaProducer, type OutgoingMessage } from '@flopwatch/kafka';
import type { AuditCopyReader, AuditLog, SealedFields } from '@flopwatch/store';

/** The fields a message carries: the entry exactly as sealed (data as stored text, so its hash can be recomputed). */
const FIELDS = ['id', 'seq', 'at', 'actor', 'action', 'object', 'data', 'prev', 'hash', 'kid', 'mac'] as const;

/** One sealed entry as a message: key = seq, timestamp = when it was written (its stream id). */
export function auditMessage(e: SealedFields): OutgoingMessage {
  const value = Object.fromEntries(FIELDS.map((f) => [f, e[f]]));
  return { key: String(e.seq), value: JSON.stringify(value), timestamp: Number(e.id.split('-')[0]) || Date.now() };
}

/** A message's entry, or null when it is not one (the topic is the audit's alone; a stray message is skipped). */
export function parseAuditMessage(value: Buffer | null): SealedFields | null {
  if (!value) return null;
  try {
    const v = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : '');
    if (typeof v.seq !== 'number' || !Number.isInteger(v.seq) || v.seq < 1 || str('hash') === '') return null;
    return { id: str('id'), seq: v.seq, at: str('at'), actor: str('actor'), action: str('action'), object: str('object'), data: str('data'), prev: str('prev'), hash: str('hash'), kid: str('kid'), mac: str('mac') };
  } catch {
    return null;
  }
}

/** Creates the audit topic if missing: one partition, `retention.ms` as configured (an existing topic is left as it is). */
export async function ensureAuditTopic(kafka: KafkaClient, topic: string, retentionMs: number): Promise<void> {
  await ensureTopics(kafka, [{ topic, partitions: 1, configs: { 'retention.ms': String(retentionMs), 'cleanup.policy': 'delete' } }]);
}

/**
 * Sends what waits in the outbox to the topic, oldest first, in runs of 500, removing each run once
 * the broker has it; returns how many were sent. A failure leaves the run in the outbox (sent again).
 */
export async function publishAuditOutbox(audit: AuditLog, producer: KafkaProducer, topic: string): Promise<number> {
  let sent = 0;
  for (;;) {
    const run = await audit.unpublished(500);
    if (run.length === 0) return sent;
    try {
      await producer.send(topic, run.map((r) => auditMessage(r.entry)));
    } catch (err) {
      // Entries larger than the topic accepts were not sent, the others were: those leave the
      // outbox; the large ones stay (flopwatch_audit_unpublished_entries) until the topic's
      // max.message.bytes is raised.
      const tooLarge = recordsTooLarge(err);
      if (tooLarge) {
        const left = new Set(tooLarge.records.map((r) => r.index));
        await audit.markPublished(run.filter((_, i) => !left.has(i)).map((r) => r.outboxId));
      }
      throw err;
    }
    await audit.markPublished(run.map((r) => r.outboxId));
    sent += run.length;
    if (run.length < 500) return sent;
  }
}

/** Reads the topic (from `since`, by message time) to its end as it is when called: the copy `verify` compares. */
export function auditTopicReader(kafka: KafkaClient, topic: string, log?: Logger): AuditCopyReader {
  return async (q, onEntries) => {
    const { incomplete } = await readTopicRange(kafka, {
      topic,
      ...(q.since ? { fromTimestamp: q.since.getTime() } : {}),
      ...(log ? { log } : {}),
      onMessages: async (_partition, messages) => {
        onEntries(messages.flatMap((m) => parseAuditMessage(m.value) ?? []));
      },
    });
    if (incomplete.length > 0) throw Object.assign(new Error(`the audit topic ${topic} could not be read to its end`), { code: 'AUDIT_COPY_INCOMPLETE', retryable: true });
  };
}
