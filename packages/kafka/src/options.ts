import { z } from 'zod';
import { KafkaPortError } from './errors.js';

const brokers = z.array(z.string().regex(/^[^:\s]+:\d+$/, { message: 'expected host:port' })).min(1);

export const clientOptionsSchema = z.object({
  brokers,
  clientId: z.string().min(1),
  connectionTimeoutMs: z.number().int().positive().optional(),
  requestTimeoutMs: z.number().int().positive().optional(),
});

export const consumerOptionsSchema = z.object({
  groupId: z.string().min(1),
  topics: z.array(z.string().min(1)).min(1),
  fromBeginning: z.boolean().optional(),
  sessionTimeoutMs: z.number().int().min(1_000).optional(),
  heartbeatIntervalMs: z.number().int().positive().optional(),
  maxBytesPerPartition: z.number().int().positive().optional(),
  maxBytes: z.number().int().positive().optional(),
  maxWaitTimeMs: z.number().int().nonnegative().optional(),
  concurrency: z.number().int().min(1).optional(),
  fetchAhead: z.boolean().optional(),
  fetchAheadBytes: z.number().int().positive().optional(),
});

export const topicSpecSchema = z.object({
  topic: z.string().min(1).max(249).regex(/^[a-zA-Z0-9._-]+$/, { message: 'only letters, digits, ".", "_" and "-"' }),
  partitions: z.number().int().min(1),
  replicationFactor: z.number().int().min(1).optional(),
  configs: z.record(z.string(), z.string()).optional(),
});

/** Checks the parts of `options` that `schema` describes; throws KAFKA_OPTIONS listing every problem. */
export function validateOptions(what: string, schema: z.ZodType, options: unknown): void {
  const result = schema.safeParse(options);
  if (result.success) return;
  const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(options)'}: ${i.message}`);
  throw new KafkaPortError('KAFKA_OPTIONS', `invalid ${what} options: ${problems.join('; ')}`, { details: { problems } });
}
