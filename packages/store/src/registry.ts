import { randomUUID } from 'node:crypto';
import type { Keys } from './keys.js';
import { explainLink, LINK_RULE_VERSION, linkIdentifiers, type LinkFields, type LinkReason, type WidelyShared } from './links.js';
import { purgePrefix } from './purge.js';
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

/** Two tenants of a set and why they are linked (`explainLink`). */
export interface LinkEdge {
  a: string;
  b: string;
  reasons: LinkReason[];
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
export function createRegistry({ redis, keys, maxShared = 50 }: { redis: RedisClient; keys: Keys; maxShared?: number }) {
  const changes = createRegistryChanges({ redis, keys });

  async function getTenant<T extends RegistryTenant>(id: string): Promise<T | null> {
    const raw = await redis.get(keys.tenant.kyc(id));
    return raw === null ? null : (JSON.parse(raw) as T);
  }

  /** How many tenants share each identifier (one SCARD each, in one pipeline round trip). */
  async function sharedCounts(identifiers: Iterable<string>): Promise<Map<string, number>> {
    const list = [...new Set(identifiers)];
    const counts = await Promise.all(list.map((l) => redis.scard(keys.registry.identifier(...splitLink(l)))));
    return new Map(list.map((l, i) => [l, counts[i]!]));
  }

  /**
   * The tenants linked to `tenant`: those the index finds through an identifier shared by at most
   * `maxShared` tenants, kept when `explainLink` gives a reason (a shared name needs agreeing countries).
   */
  async function neighbours(id: string, tenant: RegistryTenant | null, records: Map<string, RegistryTenant | null>): Promise<string[]> {
    const counts = await sharedCounts(linkIdentifiers(tenant));
    const linkable = [...counts].filter(([, n]) => n <= maxShared).map(([l]) => l);
    const sets = await Promise.all(linkable.map((l) => redis.smembers(keys.registry.identifier(...splitLink(l)))));
    const candidates = [...new Set(sets.flat())].filter((c) => c !== id);
    const missing = candidates.filter((c) => !records.has(c));
    const loaded = await Promise.all(missing.map((c) => getTenant(c)));
    missing.forEach((c, i) => records.set(c, loaded[i] ?? null));
    const sharedBy = (l: string) => counts.get(l);
    return candidates.filter((c) => {
      const other = records.get(c);
      return tenant !== null && other != null && explainLink(tenant, other, { maxShared, sharedBy }).reasons.length > 0;
    });
  }

  /** The connected component of tenants reachable from `start` through links. */
  async function component(start: string, records = new Map<string, RegistryTenant | null>()): Promise<string[]> {
    const seen = new Set([start]);
    let frontier = [start];
    while (frontier.length > 0) {
      const missing = frontier.filter((id) => !records.has(id));
      const loaded = await Promise.all(missing.map((id) => getTenant(id)));
      missing.forEach((id, i) => records.set(id, loaded[i] ?? null));
      const next = (await Promise.all(frontier.map((id) => neighbours(id, records.get(id) ?? null, records)))).flat().filter((id) => !seen.has(id));
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
      // A fresh registry is built by this rule from its first tenant on; an older one waits for rebuildLinks.
      if ((await redis.exists(keys.registry.linksVersion, keys.registry.tenants)) === 0) {
        await redis.set(keys.registry.linksVersion, LINK_RULE_VERSION);
      }
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

    /**
     * Rebuilds the identifier index and every group with the current linking rule, when the stored
     * index was built by another (`LINK_RULE_VERSION`): returns the groups whose membership changed,
     * which are also appended to the changes stream for re-evaluation; null when nothing was to do.
     * Run by the API at start, before it takes writes; a lease keeps two replicas from running it at once.
     */
    async rebuildLinks({ onProgress }: { onProgress?: (done: number) => void } = {}): Promise<GroupChange[] | null> {
      if ((await redis.get(keys.registry.linksVersion)) === LINK_RULE_VERSION) return null;
      const lease = `${keys.registry.linksVersion}:rebuilding`;
      if ((await redis.set(lease, '1', 'PX', 600_000, 'NX')) !== 'OK') return null;
      try {
        await purgePrefix(redis, keys.registry.identifiers);
        const ids: string[] = [];
        for (let after: string | null = null; ; ) {
          const page: string[] = await redis.zrangebylex(keys.registry.tenants, after ? `(${after}` : '-', '+', 'LIMIT', 0, 1000);
          if (page.length === 0) break;
          const records = await Promise.all(page.map((id) => getTenant(id)));
          await Promise.all(page.flatMap((id, i) => [...linkIdentifiers(records[i])].map((l) => redis.sadd(keys.registry.identifier(...splitLink(l)), id))));
          ids.push(...page);
          after = page[page.length - 1]!;
          onProgress?.(ids.length);
        }
        const records = new Map<string, RegistryTenant | null>();
        const covered = new Set<string>();
        const components: string[][] = [];
        for (const id of ids) {
          if (covered.has(id)) continue;
          const c = await component(id, records);
          for (const m of c) covered.add(m);
          components.push(c);
        }
        const groups = await assignGroups(components);
        await redis.set(keys.registry.linksVersion, LINK_RULE_VERSION);
        await bumpVersion();
        for (const g of groups) await changes.append({ groups: [g.groupId] });
        return groups;
      } finally {
        await redis.del(lease);
      }
    },

    /**
     * The links among `tenantIds` with their reasons, and the identifiers they share that are too
     * widely shared to link anyone (shown on a case, never a link).
     */
    async linkEvidence(tenantIds: string[]): Promise<{ edges: LinkEdge[]; widelyShared: WidelyShared[] }> {
      const records = await Promise.all(tenantIds.map((id) => getTenant(id)));
      const counts = await sharedCounts(records.flatMap((r) => [...linkIdentifiers(r)]));
      const sharedBy = (l: string) => counts.get(l);
      const edges: LinkEdge[] = [];
      const widely = new Map<string, number>();
      for (let i = 0; i < tenantIds.length; i++) {
        for (let j = i + 1; j < tenantIds.length; j++) {
          const a = records[i];
          const b = records[j];
          if (!a || !b) continue;
          const { reasons, widelyShared } = explainLink(a, b, { maxShared, sharedBy });
          for (const w of widelyShared) widely.set(w.identifier, w.tenants);
          if (reasons.length > 0) edges.push({ a: tenantIds[i]!, b: tenantIds[j]!, reasons });
        }
      }
      return { edges, widelyShared: [...widely].map(([identifier, tenants]) => ({ identifier, tenants })).sort((x, y) => x.identifier.localeCompare(y.identifier)) };
    },

    /**
     * Screening every tenant against a new list (services/api/src/screening.ts) is done by one API
     * replica: `claimScreening` takes the lease unless the list was already applied, `screened` marks it done.
     */
    screening: {
      async claim(listSha256: string, ttlMs: number): Promise<boolean> {
        if ((await redis.get(keys.registry.screened)) === listSha256) return false;
        return (await redis.set(keys.registry.screeningLease, listSha256, 'PX', ttlMs, 'NX')) === 'OK';
      },
      async done(listSha256: string): Promise<void> {
        await redis.set(keys.registry.screened, listSha256);
        await redis.del(keys.registry.screeningLease);
      },
      async release(): Promise<void> {
        await redis.del(keys.registry.screeningLease);
      },
      async applied(): Promise<string | null> {
        return redis.get(keys.registry.screened);
      },
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
