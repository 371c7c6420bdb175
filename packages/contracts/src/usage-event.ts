import { z } from 'zod';
import { countryCodeSchema, idSchema, timestampSchema } from './ids.js';
import { precisionSchema } from './precision.js';

/** CloudEvents `type` of a usage event. */
export const USAGE_EVENT_TYPE = 'io.flopwatch.gpu.usage.v1';

// The largest clusters announced are a few hundred thousand GPUs; anything beyond is a unit error.
const MAX_ACCELERATORS = 1_000_000;
// 10^30 is four orders above the frontier threshold: a single interval reporting more is nonsense.
const MAX_OPERATIONS = 1e30;
const checkpointSchema = z.string().min(1).max(256);

const acceleratorSchema = z.object({
  model: z.string().min(1).max(128),
  // Fractional because GPU sharing (MIG, time slicing) hands out thousandths of a GPU.
  count: z.number().positive().max(MAX_ACCELERATORS).multipleOf(0.001),
});

/** The `data` of a usage event: one job's use of accelerators over one interval. */
export const usageDataSchema = z.object({
  tenantId: idSchema,
  jobId: idSchema,
  cluster: z.object({ id: idSchema, region: z.string().min(1).max(64).optional(), country: countryCodeSchema }),
  accelerator: acceleratorSchema,
  // end > start and the maximum length are policy checks: they need the pack and a clock.
  interval: z.object({ start: timestampSchema, end: timestampSchema }),
  precision: precisionSchema,
  utilization: z.object({ tensorActive: z.number().min(0).max(1).optional() }).optional(),
  operations: z.number().min(0).max(MAX_OPERATIONS).nullable().optional(),
  lineage: z
    .object({
      id: idSchema,
      parentId: idSchema.nullable().optional(),
      checkpointIn: checkpointSchema.optional(),
      checkpointOut: checkpointSchema.optional(),
    })
    .optional(),
  labels: z.record(z.string().min(1).max(63), z.string().max(256)).optional(),
});
export type UsageData = z.infer<typeof usageDataSchema>;

/** A CloudEvents 1.0 envelope carrying usage data; extension attributes are allowed, as CloudEvents permits. */
export const usageEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  type: z.literal(USAGE_EVENT_TYPE),
  source: z.string().min(1).max(256),
  id: z.string().min(1).max(256),
  time: timestampSchema.optional(),
  subject: z.string().min(1).max(128).optional(),
  datacontenttype: z.literal('application/json').optional(),
  data: usageDataSchema,
});
export type UsageEvent = z.infer<typeof usageEventSchema>;
