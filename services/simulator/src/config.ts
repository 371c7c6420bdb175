import { z } from 'zod';
import { envInt, envList, kafkaSecurityEnv, redisSecurityEnv } from '@flopwatch/runtime';

/** The simulator's configuration, from environment variables; every default works with the local stack. */
export const simulatorConfigSchema = z.object({
  /** Kafka bootstrap brokers, comma-separated. */
  KAFKA_BROKERS: envList({ default: ['127.0.0.1:9092'] }),
  /** Kafka client id, shown in broker logs and quotas. */
  KAFKA_CLIENT_ID: z.string().min(1).default('flopwatch-simulator'),
  ...kafkaSecurityEnv,
  /** Where telemetry goes: the ingest's input topic. */
  TELEMETRY_TOPIC: z.string().min(1).default('gpu.telemetry.v1'),
  /** Partitions given to the topic when the simulator creates it. */
  TOPIC_PARTITIONS: envInt({ min: 1, max: 10_000, default: 12 }),
  /** With FLOPWATCH_API_KEY: tenants and lineages are registered through the API. */
  FLOPWATCH_API_URL: z.string().url().optional(),
  /** An `admin` or `analyst` key for the API. */
  FLOPWATCH_API_KEY: z.string().min(1).optional(),
  /** Without the API: tenants and lineages go straight into this Redis. */
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key; separates deployments sharing one Redis (must match the other services). */
  REDIS_PREFIX: z.string().default('fw:'),
  ...redisSecurityEnv,
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;
