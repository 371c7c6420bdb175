import type { ITopicMetadata } from 'kafkajs';
import { internals, type KafkaClient } from './client.js';
import { toKafkaPortError } from './errors.js';
import { KAFKA_DEFAULT_MESSAGE_BYTES, topicMessageLimit } from './limits.js';
import { topicSpecSchema, validateOptions } from './options.js';

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  /** Topic configs, e.g. { 'retention.ms': '604800000', 'cleanup.policy': 'delete' }. */
  configs?: Record<string, string>;
}

export interface EnsureTopicsResult {
  created: string[];
  existing: string[];
  /** Existing topics with fewer partitions than asked for; left as they are (see ensureTopics). */
  underPartitioned: { topic: string; partitions: number; requested: number }[];
}

/**
 * Creates the topics that do not exist; existing topics are left alone. A topic with fewer
 * partitions than asked is only reported (and logged as a warning), never grown: adding partitions
 * moves keys to other partitions, which breaks per-tenant ordering (the ingest's "first granularity
 * seen wins" follows the log) — an operator does that deliberately, with the consumers stopped.
 */
export async function ensureTopics(client: KafkaClient, specs: TopicSpec[]): Promise<EnsureTopicsResult> {
  for (const spec of specs) validateOptions('topic', topicSpecSchema, spec);
  const log = client.log.child({ component: 'kafka-topics' });
  const admin = await client[internals].admin();
  const result: EnsureTopicsResult = { created: [], existing: [], underPartitioned: [] };
  try {
    const names = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !names.has(s.topic));
    for (const spec of missing) {
      // One topic per request: another instance may create the same topic concurrently, and
      // kafkajs answers `false` (not an error) only when every topic of the request already existed.
      const created = await admin
        .createTopics({
          waitForLeaders: true,
          topics: [
            {
              topic: spec.topic,
              numPartitions: spec.partitions,
              replicationFactor: spec.replicationFactor ?? -1,
              configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
            },
          ],
        })
        .catch(async (err: unknown) => {
          // The topic was created, but kafkajs' wait for leaders asked a broker whose metadata does
          // not list it yet (a busy KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs
          // does not retry): wait for the leaders here instead.
          if (!isUnknownTopic(err)) throw err;
          await waitForLeaders(admin, spec.topic, err);
          return true;
        });
      if (created) {
        result.created.push(spec.topic);
        log.info({ topic: spec.topic, partitions: spec.partitions }, 'topic created');
      } else result.existing.push(spec.topic);
    }
    const present = specs.filter((s) => names.has(s.topic));
    if (present.length > 0) {
      const { topics } = await metadataOf(admin, present.map((s) => s.topic));
      for (const spec of present) {
        result.existing.push(spec.topic);
        const partitions = topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
        if (partitions < spec.partitions) {
          result.underPartitioned.push({ topic: spec.topic, partitions, requested: spec.partitions });
          log.warn({ topic: spec.topic, partitions, requested: spec.partitions }, 'topic has fewer partitions than configured');
        }
      }
    }
  } catch (err) {
    throw toKafkaPortError('KAFKA_TOPIC', 'ensuring topics failed', err, { topics: specs.map((s) => s.topic) });
  }
  return result;
}

/**
 * What a dead-letter topic's `max.message.bytes` exceeds its sources' by: a dead letter is a source
 * message plus the ingest's headers (reason, a message of at most 2,000 characters, the source
 * coordinates), so one the source topic took always fits the DLQ.
 */
export const DEAD_LETTER_HEADROOM_BYTES = 65_536;

export interface DeadLetterTopic {
  topic: string;
  created: boolean;
  /** The DLQ's max.message.bytes as the broker reads it now; null when it cannot be read. */
  maxMessageBytes: number | null;
  /** The largest of its sources' max.message.bytes plus DEAD_LETTER_HEADROOM_BYTES. */
  required: number;
}

/**
 * Creates the dead-letter topic of `sources` (when missing) with a `max.message.bytes` of the
 * largest of theirs plus DEAD_LETTER_HEADROOM_BYTES, so every message the sources hold can be
 * dead-lettered whole. An existing DLQ is left as it is (changing a topic's config is an operator's
 * call, and kafkajs' AlterConfigs would replace its other overrides); when its limit is lower, a
 * warning names both figures — dead letters too large for it then go as truncated copies.
 */
export async function ensureDeadLetterTopic(client: KafkaClient, spec: TopicSpec & { sources: string[] }): Promise<DeadLetterTopic> {
  const log = client.log.child({ component: 'kafka-topics' });
  // Without DescribeConfigs permission the limits cannot be read: Kafka's default is assumed for a
  // source (warned), and the DLQ's own is reported as null; the ingest still starts.
  const limitOf = (topic: string) =>
    topicMessageLimit(client, topic).then(
      (l) => l.bytes,
      (err: unknown) => {
        log.warn({ err, topic }, "topic max.message.bytes unreadable (DescribeConfigs); assuming Kafka's default");
        return null;
      },
    );
  let largest = 0;
  for (const source of spec.sources) largest = Math.max(largest, (await limitOf(source)) ?? KAFKA_DEFAULT_MESSAGE_BYTES);
  const required = largest + DEAD_LETTER_HEADROOM_BYTES;
  const { sources, ...topicSpec } = spec;
  const { created } = await ensureTopics(client, [{ ...topicSpec, configs: { ...spec.configs, 'max.message.bytes': String(required) } }]);
  const maxMessageBytes = await limitOf(spec.topic);
  if (maxMessageBytes !== null && maxMessageBytes < required) {
    log.warn({ topic: spec.topic, maxMessageBytes, required, sources }, 'dead-letter topic accepts smaller messages than its sources: large dead letters go as truncated copies; raise its max.message.bytes');
  }
  return { topic: spec.topic, created: created.includes(spec.topic), maxMessageBytes, required };
}

/**
 * Topic metadata, retried for a few seconds on the retriable "does not host this topic-partition"
 * that a KRaft broker under load answers shortly after a topic was created.
 */
async function metadataOf(admin: Admin, topics: string[]): Promise<{ topics: ITopicMetadata[] }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await admin.fetchTopicMetadata({ topics });
    } catch (err) {
      const retriable = (err as { retriable?: unknown }).retriable === true;
      if (!retriable || attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Deletes the topics that exist among `topics` (for scripts removing a run's data) and waits until they are gone; returns those deleted. */
export async function deleteTopics(client: KafkaClient, topics: string[]): Promise<string[]> {
  const admin = await client[internals].admin();
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
    // Deletion completes on the controller before every broker's metadata forgets the topic: wait (up
    // to 10 s) until the names are gone, so a caller may create them afresh at once.
    for (let i = 0; i < 100 && doomed.length > 0; i++) {
      const left = new Set(await admin.listTopics());
      if (!doomed.some((t) => left.has(t))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return doomed;
  } catch (err) {
    throw toKafkaPortError('KAFKA_TOPIC', 'deleting topics failed', err, { topics });
  }
}

type Admin = Awaited<ReturnType<KafkaClient[typeof internals]['admin']>>;

/** Whether a kafkajs error, or one it wraps, is UNKNOWN_TOPIC_OR_PARTITION (a busy KRaft broker whose metadata lags a new topic). */
export function isUnknownTopic(err: unknown): boolean {
  for (let e: unknown = err, i = 0; typeof e === 'object' && e !== null && i < 10; i++) {
    const shape = e as { type?: string; cause?: unknown; originalError?: unknown };
    if (shape.type === 'UNKNOWN_TOPIC_OR_PARTITION') return true;
    e = shape.originalError ?? shape.cause;
  }
  return false;
}

/** Polls the topic's metadata (up to 30 s) until every partition has a leader; rethrows `original` otherwise. */
async function waitForLeaders(admin: Admin, topic: string, original: unknown): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ok = await admin
      .fetchTopicMetadata({ topics: [topic] })
      .then(({ topics }) => (topics[0]?.partitions.length ?? 0) > 0 && topics[0]!.partitions.every((p) => p.leader >= 0))
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw original;
}
