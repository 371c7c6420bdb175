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

// Label keys follow Kubernetes' label-name grammar, so a JSON Schema validator in any language
// checks them the same way. `__proto__` is refused outright: zod would silently drop it, while
// other parsers keep it, and both sides of the contract must accept exactly the same events.
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const labelsSchema = z.preprocess((raw, ctx) => {
  if (typeof raw === 'object' && raw !== null && Object.hasOwn(raw, '__proto__')) {
    ctx.addIssue({ code: 'custom', message: 'label key "__proto__" is not allowed', input: raw });
  }
  return raw;
}, z.record(z.string().regex(LABEL_KEY, 'label keys are 1-63 chars of A-Z a-z 0-9 . _ / -, starting alphanumeric'), z.string().max(256)));

// `multipleOf: 0.001` in the published JSON Schema, checked here the way JSON Schema validators do
// with a float tolerance (ajv's multipleOfPrecision 6: |count / 0.001 − round| ≤ 1e-6): an exact
// decimal check would refuse 1.0000000000000002 GPUs that every other validator accepts.
function wholeThousandths(count: number): boolean {
  const q = count / 0.001;
  return Math.abs(Math.round(q) - q) <= 1e-6;
}

const acceleratorSchema = z.object({
  model: z.string().min(1).max(128),
  // Fractional because GPU sharing (MIG, time slicing) hands out thousandths of a GPU; one
  // thousandth is the least a job can hold.
  count: z
    .number()
    .min(0.001)
    .max(MAX_ACCELERATORS)
    .refine(wholeThousandths, 'must be a whole number of thousandths of a GPU')
    .meta({ multipleOf: 0.001 }),
});

/** The `data` of a usage event: one job's use of accelerators over one interval. */
export const usageDataSchema = z.object({
  tenantId: idSchema,
  jobId: idSchema,
  // The host, or host/GPU, that this one report covers; absent when the report covers the whole job.
  // (cluster, job, node) is a usage slice: the unit whose covered time is counted once.
  node: idSchema.optional(),
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
  labels: labelsSchema.optional(),
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
