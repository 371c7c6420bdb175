// The largest record batch a topic accepts, as the broker says: the topic's `max.message.bytes`
// (its override, or the broker's `message.max.bytes` it defaults to). Read with the admin API
// (DescribeConfigs) and cached per topic by the producer; re-read when the broker refuses a request
// the cached limit allowed, and before a record is named too large (the limit may have been raised).
import type { ConfigResourceTypes } from 'kafkajs';
import type { Logger } from 'pino';
import { internals, type KafkaClient } from './client.js';
import { KafkaPortError, toKafkaPortError } from './errors.js';

/** Kafka's default `message.max.bytes` (1 MiB + 12): the limit assumed when the broker's cannot be read. */
export const KAFKA_DEFAULT_MESSAGE_BYTES = 1_048_588;

// kafkajs' ConfigResourceTypes (Kafka's resource types), as values: kafkajs is CommonJS and Node's
// ESM loader does not see that export by name.
const TOPIC = 2 as ConfigResourceTypes;
const BROKER = 4 as ConfigResourceTypes;

/** How long a limit that could not be read (the fallback) is kept before asking the broker again. */
const FALLBACK_TTL_MS = 60_000;

export interface MessageLimit {
  bytes: number;
  /** Where it came from: the topic's config (override or the broker default it resolves to), the broker's, or the fallback. */
  source: 'topic' | 'broker' | 'fallback';
}

const positive = (v: string | undefined): number | undefined => {
  const n = Number(v);
  return v !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/**
 * The topic's `max.message.bytes` as the broker resolves it; when the topic config has no value,
 * the broker's `message.max.bytes`. A missing topic throws KAFKA_TOPIC_NOT_FOUND; other failures
 * throw KAFKA_ADMIN (callers decide whether to fall back).
 */
export async function topicMessageLimit(client: KafkaClient, topic: string): Promise<MessageLimit> {
  const admin = await client[internals].admin();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    const fromTopic = positive(resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    if (fromTopic !== undefined) return { bytes: fromTopic, source: 'topic' };
    const { brokers } = await admin.describeCluster();
    const broker = brokers[0];
    if (broker) {
      const answer = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: BROKER, name: String(broker.nodeId), configNames: ['message.max.bytes'] }],
      });
      const fromBroker = positive(answer.resources[0]?.configEntries.find((e) => e.configName === 'message.max.bytes')?.configValue);
      if (fromBroker !== undefined) return { bytes: fromBroker, source: 'broker' };
    }
    throw new KafkaPortError('KAFKA_ADMIN', `neither the topic's max.message.bytes nor the broker's message.max.bytes could be read`, { retryable: false, details: { topic } });
  } catch (err) {
    throw toKafkaPortError('KAFKA_ADMIN', 'reading the topic message size limit failed', err, { topic });
  }
}

export interface MessageLimits {
  /** The cached limit of `topic`, read on first use. */
  get(topic: string): Promise<MessageLimit>;
  /** Reads the limit again and caches it. */
  refresh(topic: string): Promise<MessageLimit>;
}

/**
 * A per-topic cache of limits. A limit that cannot be read (no DescribeConfigs permission, an
 * admin request failing) falls back to Kafka's default, logged as a warning and asked again after a
 * minute; a missing topic is not cached and rethrown (the send would fail the same way).
 */
export function createMessageLimits(client: KafkaClient, log: Logger): MessageLimits {
  const cache = new Map<string, { limit: Promise<MessageLimit>; expires: number }>();
  const read = (topic: string): Promise<MessageLimit> => {
    const entry = {
      expires: Infinity,
      limit: topicMessageLimit(client, topic).then(
        (limit) => {
          log.debug({ topic, maxMessageBytes: limit.bytes, source: limit.source }, 'topic message size limit read');
          return limit;
        },
        (err: unknown) => {
          if (err instanceof KafkaPortError && err.code === 'KAFKA_TOPIC_NOT_FOUND') {
            cache.delete(topic);
            throw err;
          }
          entry.expires = Date.now() + FALLBACK_TTL_MS;
          log.warn({ err, topic, assumedMaxMessageBytes: KAFKA_DEFAULT_MESSAGE_BYTES }, "topic message size limit unreadable; assuming Kafka's default");
          return { bytes: KAFKA_DEFAULT_MESSAGE_BYTES, source: 'fallback' as const };
        },
      ),
    };
    cache.set(topic, entry);
    return entry.limit;
  };
  return {
    get(topic) {
      const entry = cache.get(topic);
      return entry && entry.expires > Date.now() ? entry.limit : read(topic);
    },
    refresh: read,
  };
}
