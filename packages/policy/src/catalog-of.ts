import { createCatalog, type Catalog } from '@flopwatch/catalog';
import type { PolicyPack } from './pack-schema.js';

const catalogs = new WeakMap<PolicyPack, Catalog>();

/** The accelerator catalog a pack counts with: the built-in rows plus the pack's own `accelerators`. */
export function catalogOf(pack: PolicyPack): Catalog {
  let catalog = catalogs.get(pack);
  if (!catalog) {
    catalog = createCatalog(pack.accelerators);
    catalogs.set(pack, catalog);
  }
  return catalog;
}
