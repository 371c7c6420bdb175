import type { PolicyPack } from './pack-schema.js';

/** Country tier of the AI Diffusion framework. */
export type Tier = 1 | 2 | 3;

/** The tier of a country under the pack: listed in tier1 or tier3, else Tier 2. */
export function countryTier(code: string, pack: PolicyPack): Tier {
  if (pack.countries.tier1.includes(code)) return 1;
  if (pack.countries.tier3.includes(code)) return 3;
  return 2;
}
