import { z } from 'zod';
import { countryCodeSchema, idSchema, textSchema, timestampSchema } from './ids.js';

/** KYC state of a tenant; only `verified` is trusted, `unknown` is a tenant never registered. */
export const KYC_STATUSES = ['verified', 'pending', 'unverified', 'rejected', 'unknown'] as const;
export const kycStatusSchema = z.enum(KYC_STATUSES);
export type KycStatus = z.infer<typeof kycStatusSchema>;

const partySchema = z.object({ name: textSchema(256).min(1), country: countryCodeSchema });
const identifierListSchema = z.array(z.string().min(1).max(256)).max(1000);

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
});
export type Tenant = z.infer<typeof tenantSchema>;
