// Fixtures every test shares: the run's Kafka and Redis, a fresh topic and key prefix per test.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Kafka, logLevel, type ITopicConfig } from 'kafkajs';
import { Redis } from 'ioredis';
import { isUnknownTopic, silenceKafkajsNegativeTimeoutWarning } from '@flopwatch/kafka';

/** A short unique suffix: each test gets its own topics, groups and key prefixes. */
export const uniqueId = (label = 't'): string => `${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

export const kafkaBrokers = (): string[] => inject('kafkaBrokers');
export const redisUrl = (): string => inject('redisUrl');

export function testKafka(clientId = uniqueId('client')): Kafka {
  // As createKafkaClient does: kafkajs's known negative timer (kafkajs#1751) warns under Node 24.
  silenceKafkajsNegativeTimeoutWarning();
  return new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
}

/** Creates fresh topics (unique names derived from `labels`) and returns their names. */
export async function freshTopics<const L extends readonly string[]>(labels: L, options: Partial<ITopicConfig> = {}): Promise<{ [K in keyof L]: string }> {
  const names = labels.map((l) => uniqueId(l));
  const admin = testKafka().admin();
  await admin.connect();
  try {
    // kafkajs's wait for leaders asks the broker's metadata, which a busy KRaft broker may not have
    // updated yet: it answers UNKNOWN_TOPIC_OR_PARTITION ("does not host this topic-partition"), which
    // kafkajs does not retry. The topics were created; the loop below waits for them instead.
    await admin
      .createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ numPartitions: 3, replicationFactor: 1, ...options, topic })) })
      .catch((err: unknown) => {
        if (!isUnknownTopic(err)) throw err;
      });
    // A KRaft broker under load may still answer "does not host this topic-partition" for a moment
    // after the leaders are elected: wait until its metadata serves every new topic.
    for (let attempt = 0; ; attempt++) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        if (topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) break;
      } catch (err) {
        if (attempt >= 50) throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.disconnect();
  }
  return names as { [K in keyof L]: string };
}

/** A Redis client for the run's Redis; close it in afterAll/afterEach. */
export function testRedis(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: 3 });
}

/** A key prefix no other test uses; keys under it are the test's own. */
export const freshPrefix = (label = 'test'): string => `${uniqueId(label)}:`;

/**
 * Deletes every key under any of `prefixes` in one pass over the keyspace (SCAN, never KEYS), so a
 * suite that used many prefixes cleans up in one scan however large the shared Redis is.
 */
export async function dropPrefix(redis: Redis, ...prefixes: string[]): Promise<void> {
  if (prefixes.length === 0) return;
  const match = prefixes.length === 1 ? `${prefixes[0]}*` : '*';
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 5000);
    cursor = next;
    const mine = keys.filter((k) => prefixes.some((p) => k.startsWith(p)));
    if (mine.length > 0) await redis.unlink(...mine);
  } while (cursor !== '0');
}

export { startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
export { usageEvent, waitFor, type UsageEventSpec } from './events.js';
export { startPrivateRedis, type PrivateRedis } from './redis-server.js';
export { freePort } from './ports.js';
export { requireSlurm, startSlurm, type SlurmOptions, type TestSlurm } from './slurm.js';
export { makeTestCertificates, type TestCertificates } from './tls.js';
export { startSecureKafka, startSecureRedis, startSecureRedisCluster, type SecureKafka, type SecureRedis, type SecureRedisCluster, type SecureRedisOptions } from './secure-servers.js';
export { serviceMain, spawnService, type ServiceName, type ServiceProcess } from './services.js';
