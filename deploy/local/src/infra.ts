import { DEFAULT_REDIS_URL, startRedis } from './redis.js';
import { startKafka } from './kafka.js';

export interface Infra {
  kafkaBrokers: string[];
  redisUrl: string;
}

/**
 * Makes Kafka and Redis answer: the ones named by KAFKA_BROKERS / REDIS_URL when set, else a local
 * broker (started when none answers on 127.0.0.1:9092) and the machine's Redis.
 */
export async function ensureInfra(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = () => {}): Promise<Infra> {
  const redisUrl = env.REDIS_URL ?? DEFAULT_REDIS_URL;
  await startRedis({ url: redisUrl, env, log });
  if (env.KAFKA_BROKERS) return { kafkaBrokers: env.KAFKA_BROKERS.split(',').map((b) => b.trim()), redisUrl };
  const kafka = await startKafka({ env, log });
  return { kafkaBrokers: [kafka.brokers], redisUrl };
}
