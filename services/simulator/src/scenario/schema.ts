import { z } from 'zod';
import { idSchema, lineageSchema, precisionSchema, tenantSchema } from '@flopwatch/contracts';
import { parseDuration } from '@flopwatch/runtime';

/** "90s", "6h", "123d" → milliseconds. */
export const durationSchema = z.string().transform((v, ctx) => {
  const ms = parseDuration(v, { unitRequired: true });
  if (ms === null) ctx.addIssue({ code: 'custom', message: 'must be a duration like 90s, 6h or 123d' });
  return ms ?? z.NEVER;
});

/** A number, or a range from which each repetition draws (seeded, so runs are reproducible). */
const rangeOf = <T extends z.ZodType>(value: T) => z.union([value, z.object({ min: value, max: value })]);

const utilizationSchema = z.discriminatedUnion('profile', [
  z.object({ profile: z.literal('constant'), value: z.number().min(0).max(1) }),
  z.object({ profile: z.literal('ramp'), from: z.number().min(0).max(1), to: z.number().min(0).max(1) }),
  // Inference-like: follows the day, peak at 14:00 UTC.
  z.object({ profile: z.literal('diurnal'), mean: z.number().min(0).max(1), amplitude: z.number().min(0).max(1) }),
  z.object({ profile: z.literal('noisy'), mean: z.number().min(0).max(1), jitter: z.number().min(0).max(1) }),
]);
export type UtilizationProfile = z.infer<typeof utilizationSchema>;

const clusterSchema = z.object({
  id: idSchema,
  region: z.string().min(1).max(64),
  country: z.string().regex(/^[A-Z]{2}$/),
  accelerators: z.array(z.string().min(1)).min(1),
});

const jobSchema = z.object({
  /** With `repeat`, `{i}` in ids and tenant names is the repetition number (01, 02, …). */
  id: z.string().min(1),
  repeat: z.number().int().min(1).max(10_000).default(1),
  /** Who runs it; with `split`, the accounts sharing it. */
  tenant: z.string().min(1).optional(),
  split: z.object({
    tenants: z.array(z.string().min(1)).min(2),
    // shared: every account reports the same lineage; chain: each account trains its own lineage name,
    // registered as a child of the previous account's (checkpoints handed across accounts).
    lineage: z.enum(['shared', 'chain']).default('chain'),
  }).optional(),
  /** Cluster ids; a split job spreads its accounts over them round-robin. */
  clusters: z.array(z.string().min(1)).min(1),
  accelerator: z.string().min(1).optional(),
  /** GPUs of the whole job (a split job divides them evenly between accounts). */
  gpus: rangeOf(z.number().positive()),
  precision: precisionSchema.default('bf16'),
  utilization: utilizationSchema.default({ profile: 'constant', value: 0.4 }),
  /** Offset of the job's start from the timeline start. */
  start: rangeOf(z.string()).default('0s'),
  duration: rangeOf(z.string()),
  /** Whether telemetry reports DCGM tensor-active (else the policy default applies). */
  reportUtilization: z.boolean().default(true),
  lineage: z.object({
    id: z.string().min(1),
    parentId: idSchema.nullable().default(null),
    baseModel: lineageSchema.shape.baseModel.default(null),
    /** Report checkpoint hashes in and out on every interval. */
    checkpoints: z.boolean().default(true),
  }).optional(),
  labels: z.record(z.string(), z.string()).default({}),
}).refine((j) => (j.tenant === undefined) !== (j.split === undefined), { message: 'a job has either `tenant` or `split`, not both' });
export type ScenarioJob = z.infer<typeof jobSchema>;

const scenarioTenantSchema = tenantSchema.omit({ updatedAt: true }).extend({
  id: z.string().min(1),
  repeat: z.number().int().min(1).max(10_000).default(1),
  /** Not registered: the tenant stays `kycStatus: unknown`, as an account nobody vetted. */
  register: z.boolean().default(true),
  notes: z.string().max(10_000).default(''),
  identifiers: tenantSchema.shape.identifiers.default({ paymentFingerprints: [], contactDomains: [] }),
  ultimateParent: tenantSchema.shape.ultimateParent.default(null),
  beneficialOwners: tenantSchema.shape.beneficialOwners.default([]),
  validatedEndUser: z.boolean().default(false),
  entityListMatch: z.boolean().default(false),
});
export type ScenarioTenant = z.infer<typeof scenarioTenantSchema>;

/** A scenario file: who rents what, where, and how the usage unfolds. */
export const scenarioSchema = z.object({
  name: idSchema,
  description: z.string().default(''),
  /** Seeds every random draw: a scenario produces the same events on every run. */
  seed: z.number().int().default(1),
  /** Simulated time per wall-clock time: 86400 plays a day per second. */
  compression: z.number().positive().default(86_400),
  /** Length of each usage report; at most the policy's maxIntervalSeconds. */
  intervalSeconds: z.number().int().min(1).max(86_400).default(3600),
  /** The timeline ends this long before the run starts (events may not be in the future). */
  endsAgo: durationSchema.default(0),
  tenants: z.array(scenarioTenantSchema).min(1),
  clusters: z.array(clusterSchema).min(1),
  jobs: z.array(jobSchema).min(1),
  /** What a run should show, for tests and the demo's summary. */
  expect: z.object({
    flagged: z.array(z.string()).default([]),
    clean: z.array(z.string()).default([]),
  }).default({ flagged: [], clean: [] }),
});
export type Scenario = z.output<typeof scenarioSchema>;
