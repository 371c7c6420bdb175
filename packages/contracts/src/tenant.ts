import { z } from 'zod';
import { countryCodeSchema, idSchema, textSchema, timestampSchema } from './ids.js';

/** KYC state of a tenant; only `verified` is trusted, `unknown` is a tenant never registered. */
export const KYC_STATUSES = ['verified', 'pending', 'unverified', 'rejected', 'unknown'] as const;
export const kycStatusSchema = z.enum(KYC_STATUSES);
export type KycStatus = z.infer<typeof kycStatusSchema>;

const partySchema = z.object({ name: textSchema(256).min(1), country: countryCodeSchema });
const identifierListSchema = z.array(z.string().min(1).max(256)).max(1000);

/** One screening list entry a tenant's name matched (services/api/src/screening.ts). */
export const screeningMatchSchema = z.object({
  field: z.enum(['legalName', 'ultimateParent', 'beneficialOwner']),
  /** The name as the tenant's record declares it. */
  declared: z.string(),
  /** The list's name or alias that matched, as the list writes it. */
  listed: z.string(),
  score: z.number(),
  entry: z.object({
    id: z.string(),
    source: z.string(),
    name: z.string(),
    type: z.string().nullable(),
    programs: z.array(z.string()),
    countries: z.array(z.string()),
    startDate: z.string().nullable(),
    sourceListUrl: z.string().nullable(),
  }),
});
export type ScreeningMatch = z.infer<typeof screeningMatchSchema>;

/** The outcome of screening a tenant against the provider's list; written by the API, never by a client. */
export const screeningResultSchema = z.object({
  matches: z.array(screeningMatchSchema),
  /** The list screened against: its file's sha256 and entry count. */
  list: z.object({ sha256: z.string(), entries: z.number().int() }),
  screenedAt: timestampSchema,
  /** True when screening set `entityListMatch` (a later list without the entry clears it again). */
  flagged: z.boolean(),
});
export type ScreeningResult = z.infer<typeof screeningResultSchema>;

/** A tenant's KYC record: who it is, who owns it, and the identifiers that link it to other tenants. */
export const tenantSchema = z.object({
  id: idSchema,
  legalName: textSchema(256).min(1),
  hqCountry: countryCodeSchema,
  ultimateParent: partySchema.nullable(),
  beneficialOwners: z.array(partySchema).max(1000),
  // Shared values link tenants into a group; providers may add their own kinds beside these.
  identifiers: z
    .object({
      paymentFingerprints: identifierListSchema,
      contactDomains: identifierListSchema,
      beneficialOwnerIds: identifierListSchema.optional(),
    })
    .catchall(identifierListSchema),
  kycStatus: kycStatusSchema,
  validatedEndUser: z.boolean(),
  entityListMatch: z.boolean(),
  notes: textSchema(10_000),
  updatedAt: timestampSchema.optional(),
  screening: screeningResultSchema.optional(),
});
export type Tenant = z.infer<typeof tenantSchema>;
