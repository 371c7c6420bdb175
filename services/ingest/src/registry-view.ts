import type { Lineage, Tenant } from '@flopwatch/contracts';
import type { Store } from '@flopwatch/store';

export interface TenantView {
  record: Tenant | null;
  groupId: string | null;
}

/** Entries kept before the cache starts over; a registry of this many tenants re-reads in one batch. */
const MAX_ENTRIES = 200_000;

/**
 * The KYC registry as the ingest reads it: records, groups and lineage records cached until the
 * registry's version token changes. `refresh()` once per batch reads one key, so a KYC change takes
 * effect in the next batch while a steady registry costs no reads at all.
 */
export function createRegistryView(store: Store) {
  let version: string | null | undefined;
  const tenants = new Map<string, Promise<TenantView>>();
  const members = new Map<string, Promise<string[]>>();
  const lineages = new Map<string, Promise<Lineage | null>>();
  const children = new Map<string, Promise<string[]>>();

  const cached = <V>(map: Map<string, Promise<V>>, key: string, load: () => Promise<V>): Promise<V> => {
    let hit = map.get(key);
    if (!hit) {
      if (map.size >= MAX_ENTRIES) map.clear();
      hit = load();
      map.set(key, hit);
      hit.catch(() => map.delete(key)); // a failed read is retried next time, not cached
    }
    return hit;
  };

  return {
    /** Drops everything cached when the registry changed since the last call. */
    async refresh(): Promise<void> {
      const current = await store.registry.version();
      if (current !== version) {
        tenants.clear();
        members.clear();
        lineages.clear();
        children.clear();
        version = current;
      }
    },

    tenant(id: string): Promise<TenantView> {
      return cached(tenants, id, async () => {
        const [record, groupId] = await Promise.all([store.registry.getTenant<Tenant>(id), store.registry.groupOf(id)]);
        return { record, groupId };
      });
    },

    groupMembers(groupId: string): Promise<string[]> {
      return cached(members, groupId, () => store.registry.groupMembers(groupId));
    },

    lineage(id: string): Promise<Lineage | null> {
      return cached(lineages, id, () => store.registry.getLineage<Lineage>(id));
    },

    /** Lineages descending from these (children, grandchildren, …), at most `limit`. */
    async descendants(ids: Iterable<string>, limit = 256): Promise<string[]> {
      const seen = new Set(ids);
      const out: string[] = [];
      let frontier = [...seen];
      while (frontier.length > 0 && out.length < limit) {
        const next = (await Promise.all(frontier.map((id) => cached(children, id, () => store.lineageLinks.children(id))))).flat().filter((id) => !seen.has(id));
        for (const id of next) {
          seen.add(id);
          out.push(id);
        }
        frontier = [...new Set(next)];
      }
      return out.slice(0, limit);
    },
  };
}

export type RegistryView = ReturnType<typeof createRegistryView>;
