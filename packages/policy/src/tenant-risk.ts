import { countryName } from '@flopwatch/catalog';
import type { KycStatus, Tenant } from '@flopwatch/contracts';
import type { PolicyPack } from './pack-schema.js';
import { countryTier, type Tier } from './tiers.js';

/** How far a tenant is trusted, and why, in words an analyst can read. */
export interface TenantRisk {
  /** Worst tier of HQ, ultimate parent and beneficial owners; Tier 3 on an entity-list match. */
  tier: Tier;
  /** Only a `verified` KYC status is trusted. */
  trusted: boolean;
  kycStatus: KycStatus;
  hqCountry: string | null;
  ownerCountries: string[];
  reasons: string[];
}

/** Effective tier and trust of a tenant; `undefined` is a tenant never registered (`kycStatus: unknown`). */
export function tenantRisk(tenant: Tenant | undefined, pack: PolicyPack): TenantRisk {
  if (!tenant) {
    // Nothing is known of its owners, so it cannot be shown to be Tier 1; Tier 3 would need evidence.
    return {
      tier: 2,
      trusted: false,
      kycStatus: 'unknown',
      hqCountry: null,
      ownerCountries: [],
      reasons: ['tenant is not registered: KYC status unknown, ownership unknown (treated as Tier 2 and untrusted)'],
    };
  }
  const parties = [
    { role: 'headquarters', who: tenant.legalName, country: tenant.hqCountry },
    ...(tenant.ultimateParent ? [{ role: 'ultimate parent', who: tenant.ultimateParent.name, country: tenant.ultimateParent.country }] : []),
    ...tenant.beneficialOwners.map((o) => ({ role: 'beneficial owner', who: o.name, country: o.country })),
  ];
  const reasons: string[] = [];
  let tier: Tier = 1;
  for (const party of parties) {
    const partyTier = countryTier(party.country, pack);
    if (partyTier > 1) reasons.push(`${party.role} ${party.who} is in ${describe(party.country)}, a Tier ${partyTier} country`);
    if (partyTier > tier) tier = partyTier;
  }
  if (tenant.entityListMatch) {
    reasons.push('matches an entry of a restricted-party list (treated as Tier 3)');
    tier = 3;
  }
  const trusted = tenant.kycStatus === 'verified';
  if (!trusted) reasons.push(`KYC status is ${tenant.kycStatus}; only verified tenants are trusted`);
  return {
    tier,
    trusted,
    kycStatus: tenant.kycStatus,
    hqCountry: tenant.hqCountry,
    ownerCountries: [...new Set(parties.slice(1).map((p) => p.country))],
    reasons,
  };
}

function describe(code: string): string {
  const name = countryName(code);
  return name ? `${name} (${code})` : code;
}
