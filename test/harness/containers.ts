// Kafka and Redis from testcontainers, for machines with a container runtime (Docker, Podman, …).
import type { StartedTestContainer } from 'testcontainers';
import { kafkaVersion } from '@flopwatch/local';

export interface ContainerInfra {
  kafkaBrokers: string[];
  redisUrl: string;
  stop(): Promise<void>;
}

/** True when testcontainers finds a container runtime that answers. */
export async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startContainers(): Promise<ContainerInfra> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { RedisContainer } = await import('@testcontainers/redis');
  const started: StartedTestContainer[] = [];
  // The same Apache Kafka version the launcher runs (FLOPWATCH_KAFKA_VERSION, default 4.x).
  const kafka = await new KafkaContainer(`apache/kafka:${kafkaVersion()}`).withKraft().start();
  started.push(kafka);
  const redis = await new RedisContainer('redis:7.4').start();
  started.push(redis);
  return {
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    redisUrl: redis.getConnectionUrl(),
    stop: async () => {
      await Promise.all(started.map((c) => c.stop()));
    },
  };
}
