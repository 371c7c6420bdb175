import { randomUUID } from 'node:crypto';
import type { Keys } from './keys.js';
import { linkIdentifiers, type LinkFields } from './links.js';
import type { RedisClient } from './redis.js';
import { createRegistryChanges } from './registry-changes.js';

/** The least the registry needs of a tenant record; the full shape is the contracts' tenant schema. */
export interface RegistryTenant extends LinkFields {
  id: string;
}

/** The least the registry needs of a lineage record. */
export interface RegistryLineage {
  id: string;
  parentId: string | null;
}

export interface GroupChange {
  groupId: string;
  members: string[];
}

const splitLink = (link: string): [string, string] => {
  const i = link.indexOf(':');
  return [link.slice(0, i), link.slice(i + 1)];
};

/**
 * The KYC registry: tenant and lineage records, and groups of tenants linked by a shared identifier
 * (beneficial owner, ultimate parent, payment fingerprint, contact domain, …). A group's id survives
 * as long as most of its members stay together, so alerts about a group keep their subject.
 */
export function createRegistry({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  const changes = createRegistryChanges({ redis, keys });

  async function getTenant<T extends RegistryTenant>(id: string): Promise<T | null> {
    const raw = await redis.get(keys.tenant.kyc(id));
    return raw === null ? null : (JSON.parse(raw) as T);
  }

  async function neighbours(tenant: RegistryTenant | null): Promise<string[]> {
    const links = [...linkIdentifiers(tenant)];
    const sets = await Promise.all(links.map((l) => redis.smembers(keys.registry.identifier(...splitLink(l)))));
    return [...new Set(sets.flat())];
  }

  /** The connected component of tenants reachable from `start` through shared identifiers. */
  async function component(start: string): Promise<string[]> {
    const seen = new Set([start]);
    let frontier = [start];
    while (frontier.length > 0) {
      const records = await Promise.all(frontier.map((id) => getTenant(id)));
      const next = (await Promise.all(records.map((r) => neighbours(r)))).flat().filter((id) => !seen.has(id));
      for (const id of next) seen.add(id);
      frontier = [...new Set(next)];
    }
    return [...seen].sort();
  }

  async function assignGroups(components: string[][]): Promise<GroupChange[]> {
    const taken = new Set<string>();
    const changes: GroupChange[] = [];
    // The largest component claims first, so a group's id stays with most of its members.
    for (const members of [...components].sort((a, b) => b.length - a.length)) {
      const previous = await Promise.all(members.map((m) => redis.get(keys.tenant.group(m))));
      const votes = new Map<string, number>();
      for (const g of previous) if (g) votes.set(g, (votes.get(g) ?? 0) + 1);
      const ranked = [...votes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
      const groupId = ranked.find((g) => !taken.has(g)) ?? members.map((m) => `g-${m}`).find((g) => !taken.has(g))!;
      taken.add(groupId);
      const membersKey = keys.group.members(groupId);
      await redis.del(membersKey);
      await redis.sadd(membersKey, ...members);
      await Promise.all(members.map((m) => redis.set(keys.tenant.group(m), groupId)));
      const changed = members.some((m, i) => previous[i] !== groupId);
      if (changed) changes.push({ groupId, members });
    }
    return changes;
  }

  // Written after the records it covers: a reader that sees the new token also sees the new records.
  async function bumpVersion(): Promise<void> {
    await redis.set(keys.registry.version, randomUUID());
  }

  return {
    getTenant,

    /** Marks the registry changed (new version token): for writers of lineage records outside putLineage. */
    markChanged: bumpVersion,

    /** Changes whenever a tenant or lineage record changes; null before the first write. */
    async version(): Promise<string | null> {
      return redis.get(keys.registry.version);
    },

    async getTenants<T extends RegistryTenant>(ids: string[]): Promise<Map<string, T | null>> {
      const records = await Promise.all(ids.map((id) => getTenant<T>(id)));
      return new Map(ids.map((id, i) => [id, records[i] ?? null]));
    },

    /**
     * Stores a tenant record, updates the identifier index and recomputes the groups it and its old
     * links belong to. Returns the groups whose membership changed (for re-evaluation).
     */
    async putTenant<T extends RegistryTenant>(tenant: T): Promise<{ before: T | null; groups: GroupChange[] }> {
      const before = await getTenant<T>(tenant.id);
      const oldLinks = linkIdentifiers(before);
      const newLinks = linkIdentifiers(tenant);
      const oldGroupId = await redis.get(keys.tenant.group(tenant.id));
      const oldMembers = oldGroupId ? await redis.smembers(keys.group.members(oldGroupId)) : [];
      await redis.set(keys.tenant.kyc(tenant.id), JSON.stringify(tenant));
      await redis.zadd(keys.registry.tenants, 0, tenant.id);
      await Promise.all([
        ...[...oldLinks].filter((l) => !newLinks.has(l)).map((l) => redis.srem(keys.registry.identifier(...splitLink(l)), tenant.id)),
        ...[...newLinks].filter((l) => !oldLinks.has(l)).map((l) => redis.sadd(keys.registry.identifier(...splitLink(l)), tenant.id)),
      ]);
      // A changed link can merge groups (new shared identifier) or split the old one (link removed).
      const components: string[][] = [];
      const covered = new Set<string>();
      for (const start of [tenant.id, ...oldMembers]) {
        if (covered.has(start)) continue;
        const c = await component(start);
        for (const id of c) covered.add(id);
        components.push(c);
      }
      const groups = await assignGroups(components);
      // Re-evaluation without waiting for telemetry: the ingest reads this stream (KYC or links changed).
      const touched = [...new Set([...(oldGroupId ? [oldGroupId] : []), ...groups.map((g) => g.groupId)])];
      await bumpVersion();
      await changes.append({ tenantId: tenant.id, groups: touched });
      return { before, groups };
    },

    /** Tenant ids in lexicographic order after `after` (cursor pagination). */
    async listTenantIds(after: string | null, limit: number): Promise<string[]> {
      return redis.zrangebylex(keys.registry.tenants, after ? `(${after}` : '-', '+', 'LIMIT', 0, limit);
    },

    async groupOf(tenantId: string): Promise<string | null> {
      return redis.get(keys.tenant.group(tenantId));
    },

    async groupMembers(groupId: string): Promise<string[]> {
      return (await redis.smembers(keys.group.members(groupId))).sort();
    },

    async getLineage<L extends RegistryLineage>(id: string): Promise<L | null> {
      const raw = await redis.get(keys.lineage.record(id));
      return raw === null ? null : (JSON.parse(raw) as L);
    },

    async putLineage<L extends RegistryLineage>(lineage: L): Promise<L | null> {
      const before = await this.getLineage<L>(lineage.id);
      await redis.set(keys.lineage.record(lineage.id), JSON.stringify(lineage));
      await redis.zadd(keys.registry.lineages, 0, lineage.id);
      if (lineage.parentId) await redis.sadd(keys.lineage.children(lineage.parentId), lineage.id);
      await bumpVersion();
      await changes.append({ lineageId: lineage.id });
      return before;
    },

    /** The lineage's ancestors, nearest first, following parentId (cycles and depth beyond 64 stop the walk). */
    async ancestors<L extends RegistryLineage>(id: string): Promise<L[]> {
      const out: L[] = [];
      const seen = new Set([id]);
      let current = await this.getLineage<L>(id);
      while (current?.parentId && !seen.has(current.parentId) && out.length < 64) {
        seen.add(current.parentId);
        const parent = await this.getLineage<L>(current.parentId);
        if (!parent) break;
        out.push(parent);
        current = parent;
      }
      return out;
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
