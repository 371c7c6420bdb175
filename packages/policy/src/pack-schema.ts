import { isCountryCode } from '@flopwatch/catalog';
import { MEASURES, PRECISIONS, severitySchema } from '@flopwatch/contracts';
import { z } from 'zod';

const countryListSchema = z.array(z.string().refine(isCountryCode, { message: 'not an ISO 3166-1 alpha-2 country code' }));
const operationsSchema = z.number().positive().max(1e30);

/** One alert level: the fraction of the threshold at which it fires and the severity it carries. */
export const levelSchema = z.strictObject({ fraction: z.number().positive().max(10), severity: severitySchema });
export type Level = z.infer<typeof levelSchema>;

const levelsSchema = z
  .array(levelSchema)
  .min(1)
  .refine((levels) => levels.every((l, i) => i === 0 || l.fraction > (levels[i - 1]?.fraction ?? 0)), {
    message: 'fractions must be strictly increasing',
  });

const enabled = z.boolean();

/** A velocity band: a projected crossing within `withinDays` raises an alert of this severity. */
export const velocityBandSchema = z.strictObject({ withinDays: z.number().positive(), severity: severitySchema });
export type VelocityBand = z.infer<typeof velocityBandSchema>;
const bandsSchema = z
  .array(velocityBandSchema)
  .min(1)
  .refine((bands) => bands.every((b, i) => i === 0 || b.withinDays < (bands[i - 1]?.withinDays ?? Infinity)), {
    message: 'withinDays must be strictly decreasing',
  });
/**
 * An accelerator the deployment rents that the built-in catalog lacks: the same row the catalog keeps
 * (dense peaks, TPP, die area, a source); its 3A090 class and H100-equivalents are computed.
 */
const acceleratorSpecSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'lowercase letters, digits and dashes'),
  vendor: z.string().min(1).max(64),
  name: z.string().min(1).max(128),
  aliases: z.array(z.string().min(1).max(128)).max(32).default([]),
  densePeakTflops: z.partialRecord(z.enum(PRECISIONS), z.number().positive().max(1e6)).refine((p) => p.bf16 !== undefined || p.fp16 !== undefined, { message: 'needs a bf16 or fp16 peak' }),
  tpp: z.number().positive().max(1e7),
  dieAreaMm2: z.number().positive().max(1e5).nullable(),
  source: z.string().min(1).max(1000),
});

/**
 * What a rule counts: operations on controlled (3A090) hardware in Tier 1 countries (the default, the
 * cloud loophole), on controlled hardware anywhere, or on any hardware. The rule's gate and its
 * measure are this one quantity.
 */
const measure = z.enum(MEASURES).default('controlledTier1');

// Rules measured against a threshold may override the pack's levels; single-step rules carry a severity.
const leveledRule = { enabled, measure, levels: levelsSchema.optional() };

const hours = z.number().positive().max(24 * 3660);
/** Hours an analyst has to close a case of each severity, counted from when the severity was set. */
export const caseDueHoursSchema = z.strictObject({ info: hours, low: hours, medium: hours, high: hours, critical: hours });
export type CaseDueHours = z.infer<typeof caseDueHoursSchema>;
const DEFAULT_DUE_HOURS: CaseDueHours = { info: 720, low: 336, medium: 168, high: 72, critical: 24 };

/** The policy pack: country tiers, thresholds, levels, estimation defaults, input limits and rule parameters. */
export const policyPackSchema = z
  .strictObject({
    version: z.string().min(1).max(128),
    countries: z.strictObject({ tier1: countryListSchema.min(1), tier3: countryListSchema }),
    thresholds: z.strictObject({
      frontier: z.strictObject({ operations: operationsSchema }),
      tenant: z.strictObject({ operations: operationsSchema, windowDays: z.number().int().positive().max(3660) }),
    }),
    levels: levelsSchema,
    utilization: z.strictObject({ default: z.number().gt(0).max(1) }),
    limits: z.strictObject({
      maxIntervalSeconds: z.number().int().positive().max(7 * 86_400),
      maxClockSkewSeconds: z.number().int().min(0).max(86_400),
      maxLatenessDays: z.number().positive().max(3_650),
      // The absolute age bound: a report ending longer than this before its tenant's latest usage is
      // refused (interval_too_late); younger ones count unless their slice was pruned past them.
      maxAgeDays: z.number().positive().max(3_650).default(400),
    }),
    // Rows added to the built-in accelerator catalog (see catalogOf); an event naming a model neither
    // knows goes to the DLQ as unknown_accelerator and can be replayed once a row is added here.
    accelerators: z.array(acceleratorSpecSchema).max(256).default([]),
    rules: z.strictObject({
      'frontier-approach': z.strictObject(leveledRule),
      'tenant-approach': z.strictObject(leveledRule),
      structuring: z.strictObject({ ...leveledRule, minMembers: z.number().int().min(2) }),
      'lineage-laundering': z.strictObject({ ...leveledRule, minTenants: z.number().int().min(2) }),
      velocity: z.strictObject({
        enabled,
        measure,
        horizonDays: z.number().positive(),
        burnWindowDays: z.number().positive(),
        severity: severitySchema,
        // Narrower bands inside the horizon; each is a level of its own, so a date moving closer re-alerts.
        bands: bandsSchema.optional(),
      }),
      'large-untrusted-cluster': z.strictObject({ enabled, maxH100e: z.number().positive(), severity: severitySchema }),
      'unverified-at-scale': z.strictObject({ enabled, measure, operations: operationsSchema, severity: severitySchema }),
      'parent-in-tier3': z.strictObject({ enabled, measure, minOperations: operationsSchema, severity: severitySchema }),
      // Training that moves between Tier 1 and Tier 2 regions: both parts (all hardware) at least minOperations.
      // Optional so packs written before the rule keep loading; the default is the default pack's.
      'region-hopping': z.strictObject({ enabled, minOperations: operationsSchema, severity: severitySchema }).default({ enabled: true, minOperations: 5e24, severity: 'medium' }),
      // Reports of time already counted at a lower rate (pre-cover): counted plus disputed, once the
      // disputed excess reaches minOperations. Optional like region-hopping; the default is the default pack's.
      'disputed-usage': z.strictObject({ ...leveledRule, minOperations: operationsSchema }).default({
        enabled: true, measure: 'controlledTier1', minOperations: 1e24,
        levels: [{ fraction: 0.01, severity: 'medium' }, { fraction: 0.1, severity: 'high' }, { fraction: 0.5, severity: 'high' }, { fraction: 1, severity: 'critical' }],
      }),
    }),
    cases: z.strictObject({ dueHours: caseDueHoursSchema }).default({ dueHours: DEFAULT_DUE_HOURS }),
  })
  .superRefine((pack, ctx) => {
    const tier1 = new Set(pack.countries.tier1);
    for (const [i, code] of pack.countries.tier3.entries()) {
      if (tier1.has(code)) ctx.addIssue({ code: 'custom', path: ['countries', 'tier3', i], message: `${code} is also in countries.tier1` });
    }
  });
export type PolicyPack = z.infer<typeof policyPackSchema>;
