import { catalogOf } from './catalog-of.js';
import { PolicyError } from './errors.js';
import type { PolicyPack } from './pack-schema.js';
import { countryTier, type Tier } from './tiers.js';

/** Where hardware stands and whether export controls cover it. */
export interface HardwareRisk {
  country: string;
  tier: Tier;
  acceleratorId: string;
  /** 3A090 class is not `none`. */
  controlled: boolean;
  h100Equivalents: number;
}

/** The tier of the hardware's country and the accelerator's control status; unknown models throw. */
export function hardwareRisk(cluster: { country: string }, acceleratorModel: string, pack: PolicyPack): HardwareRisk {
  const accelerator = catalogOf(pack).find(acceleratorModel);
  if (!accelerator) throw new PolicyError('unknown_accelerator', `accelerator model "${acceleratorModel}" is not in the catalog`);
  return {
    country: cluster.country,
    tier: countryTier(cluster.country, pack),
    acceleratorId: accelerator.id,
    controlled: accelerator.class3A090 !== 'none',
    h100Equivalents: accelerator.h100Equivalents,
  };
}
