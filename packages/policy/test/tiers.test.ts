import { describe, expect, it } from 'vitest';
import { countryTier, hardwareRisk, tenantRisk } from '../src/index.js';
import { pack, tenant } from './fixtures.js';

describe('countryTier', () => {
  it.each([
    ['US', 1], ['GB', 1], ['TW', 1], ['KR', 1], ['JP', 1],
    ['SG', 2], ['AE', 2], ['IN', 2], ['IL', 2], ['KH', 2],
    ['CN', 3], ['MO', 3], ['RU', 3], ['IR', 3], ['KP', 3], ['SD', 3],
  ] as const)('puts %s in Tier %s', (code, tier) => {
    expect(countryTier(code, pack)).toBe(tier);
  });
});

describe('tenantRisk', () => {
  it.each([
    ['a verified US tenant', tenant(), 1, true, []],
    ['a verified Singapore tenant', tenant({ hqCountry: 'SG' }), 2, true, ['headquarters Acme AI Inc. is in Singapore (SG), a Tier 2 country']],
    ['a US tenant whose ultimate parent is in China', tenant({ ultimateParent: { name: 'Parent Co', country: 'CN' } }), 3, true, ["ultimate parent Parent Co is in People's Republic of China (CN), a Tier 3 country"]],
    ['a US tenant with a beneficial owner in Macau', tenant({ beneficialOwners: [{ name: 'J. Doe', country: 'MO' }, { name: 'A. Roe', country: 'DE' }] }), 3, true, ['beneficial owner J. Doe is in Macao (MO), a Tier 3 country']],
    ['a Tier 2 tenant with a Tier 3 owner (the worst wins)', tenant({ hqCountry: 'AE', beneficialOwners: [{ name: 'X', country: 'IR' }] }), 3, true, ['headquarters Acme AI Inc. is in United Arab Emirates (AE), a Tier 2 country', 'beneficial owner X is in Islamic Republic of Iran (IR), a Tier 3 country']],
    ['a verified US tenant on an entity list', tenant({ entityListMatch: true }), 3, true, ['matches an entry of a restricted-party list (treated as Tier 3)']],
    ['a pending US tenant', tenant({ kycStatus: 'pending' }), 1, false, ['KYC status is pending; only verified tenants are trusted']],
    ['a rejected US tenant', tenant({ kycStatus: 'rejected' }), 1, false, ['KYC status is rejected; only verified tenants are trusted']],
    ['an unregistered tenant', undefined, 2, false, ['tenant is not registered: KYC status unknown, ownership unknown (treated as Tier 2 and untrusted)']],
  ])('rates %s', (_name, input, tier, trusted, reasons) => {
    const risk = tenantRisk(input, pack);
    expect({ tier: risk.tier, trusted: risk.trusted, reasons: risk.reasons }).toEqual({ tier, trusted, reasons });
  });

  it('gives an unregistered tenant kycStatus unknown', () => {
    expect(tenantRisk(undefined, pack).kycStatus).toBe('unknown');
  });

  it('lists the owner countries for the alert snapshot', () => {
    const risk = tenantRisk(tenant({ ultimateParent: { name: 'P', country: 'CN' }, beneficialOwners: [{ name: 'Q', country: 'CN' }, { name: 'R', country: 'DE' }] }), pack);
    expect(risk.ownerCountries).toEqual(['CN', 'DE']);
  });
});

describe('hardwareRisk', () => {
  it.each([
    ['H100s in the US', 'US', 'NVIDIA H100 80GB HBM3', 1, true, 1],
    ['H20s in Singapore', 'SG', 'NVIDIA H20', 2, false, 2368 / 15832],
    ['L4s in Germany (controlled by density)', 'DE', 'L4', 1, true, 1940 / 15832],
    ['T4s in China', 'CN', 'T4', 3, false, 1040 / 15832],
  ] as const)('rates %s', (_name, country, model, tier, controlled, h100e) => {
    const risk = hardwareRisk({ country }, model, pack);
    expect(risk.tier).toBe(tier);
    expect(risk.controlled).toBe(controlled);
    expect(risk.h100Equivalents).toBeCloseTo(h100e, 12);
  });

  it('refuses an accelerator the catalog does not know', () => {
    expect(() => hardwareRisk({ country: 'US' }, 'G2', pack)).toThrow(expect.objectContaining({ code: 'unknown_accelerator' }));
  });
});
