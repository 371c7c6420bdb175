import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import type { Registry } from './registry.js';
import { defineScripts } from './scripts.js';

/** What one usage event says about its lineage. */
export interface LineageFact {
  tenantId: string;
  lineageId: string;
  /** Parent declared in the event, if any. */
  parentId: string | null;
  checkpointIn: string | null;
  checkpointOut: string | null;
}

/** How a lineage came to have a parent, kept as evidence in `{l:<lineage>}:links`. */
export interface LinkEvidence {
  kind: 'checkpoint' | 'declared';
  /** The checkpoint read (kind `checkpoint`). */
  checkpoint?: string;
  tenantId: string;
  parentTenantId: string | null;
}

/** A link between a lineage and its parent that telemetry established or confirmed. */
export interface LineageLink extends LinkEvidence {
  lineageId: string;
  parentId: string;
  /** The lineage's parentId was set by this call (false: it had one, or the link would close a cycle). */
  parentSet: boolean;
}

/**
 * Lineage links found in telemetry: a job reading a checkpoint another lineage wrote continues that
 * lineage, so the reader gets it as its parent (when it has none) and its cumulative count includes
 * the writer's — renaming a model does not reset its count. Declared parents are recorded the same way.
 */
export function createLineageLinks({ redis, keys, registry }: { redis: RedisClient; keys: Keys; registry: Registry }) {
  const scripts = defineScripts(redis);

  async function link(child: string, parent: string, evidence: LinkEvidence): Promise<LineageLink> {
    const ancestry = [parent, ...(await registry.ancestors(parent)).map((a) => a.id)];
    const cycle = ancestry.includes(child);
    const why = evidence.kind === 'checkpoint'
      ? `parent ${parent} found by flopwatch: checkpoint ${evidence.checkpoint} written by ${parent} (tenant ${evidence.parentTenantId ?? 'unknown'}) was read by tenant ${evidence.tenantId}`
      : `parent ${parent} declared in telemetry by tenant ${evidence.tenantId}`;
    await scripts.linkLineage({
      keys: { record: keys.lineage.record(parent), links: keys.lineage.links(parent) },
      args: { lineageId: parent, parentId: '', evidence: '', tenantId: evidence.parentTenantId ?? '', notes: 'seen in telemetry' },
    });
    const set = cycle ? false : await scripts.linkLineage({
      keys: { record: keys.lineage.record(child), links: keys.lineage.links(child) },
      args: { lineageId: child, parentId: parent, evidence: JSON.stringify(evidence), tenantId: evidence.tenantId, notes: why },
    });
    await redis.zadd(keys.registry.lineages, 0, child, 0, parent);
    // Every edge, declared or found, makes the child a descendant (ancestry is a graph, not the
    // parentId chain): it is re-evaluated when the parent grows.
    const added = cycle ? 0 : await redis.sadd(keys.lineage.children(parent), child);
    if (set || added === 1) await registry.markChanged(); // readers caching lineage records must see the new edge
    return { lineageId: child, parentId: parent, ...evidence, parentSet: set };
  }

  return {
    /**
     * Records the checkpoints and declared parents of a batch's events and applies the links they
     * make, writers before readers. Idempotent; returns the links made or confirmed.
     */
    async observe(facts: LineageFact[]): Promise<LineageLink[]> {
      const unique = <T>(items: T[], key: (t: T) => string) => [...new Map(items.map((i) => [key(i), i])).values()];
      const outs = unique(facts.filter((f) => f.checkpointOut), (f) => `${f.checkpointOut}\u0000${f.lineageId}`);
      const ins = unique(facts.filter((f) => f.checkpointIn), (f) => `${f.checkpointIn}\u0000${f.lineageId}`);
      const declared = unique(facts.filter((f) => f.parentId && f.parentId !== f.lineageId), (f) => f.lineageId);
      const pending: { child: string; parent: string; evidence: LinkEvidence }[] = [];
      const run = async (op: 'in' | 'out', checkpoint: string, f: LineageFact) => {
        const flat = await scripts.checkpoint({
          keys: { writer: keys.checkpoint.writer(checkpoint), readers: keys.checkpoint.readers(checkpoint) },
          args: { op, lineageId: f.lineageId, tenantId: f.tenantId },
        });
        for (let i = 0; i + 3 < flat.length; i += 4) {
          pending.push({ child: flat[i]!, parent: flat[i + 2]!, evidence: { kind: 'checkpoint', checkpoint, tenantId: flat[i + 1]!, parentTenantId: flat[i + 3] || null } });
        }
      };
      await Promise.all(outs.map((f) => run('out', f.checkpointOut!, f)));
      await Promise.all(ins.map((f) => run('in', f.checkpointIn!, f)));
      for (const f of declared) pending.push({ child: f.lineageId, parent: f.parentId!, evidence: { kind: 'declared', tenantId: f.tenantId, parentTenantId: null } });
      const out: LineageLink[] = [];
      // One at a time: each link's cycle check must see the links made before it.
      for (const p of pending) out.push(await link(p.child, p.parent, p.evidence));
      return out;
    },

    /**
     * The lineages descending from these (children, grandchildren, …), at most `limit`: their
     * cumulative counts grow with their ancestors'.
     */
    async descendants(lineageIds: Iterable<string>, limit = 256): Promise<string[]> {
      const seen = new Set(lineageIds);
      const out: string[] = [];
      let frontier = [...seen];
      while (frontier.length > 0 && out.length < limit) {
        const next = (await Promise.all(frontier.map((id) => redis.smembers(keys.lineage.children(id))))).flat().filter((id) => !seen.has(id));
        for (const id of next) {
          seen.add(id);
          out.push(id);
        }
        frontier = [...new Set(next)];
      }
      return out.slice(0, limit);
    },

    /** Lineages with an edge (declared or checkpoint) to this one as their parent. */
    children(lineageId: string): Promise<string[]> {
      return redis.smembers(keys.lineage.children(lineageId));
    },

    /** Evidence of each parent link recorded for a lineage. */
    async links(lineageId: string): Promise<Map<string, LinkEvidence>> {
      const raw = await redis.hgetall(keys.lineage.links(lineageId));
      return new Map(Object.entries(raw).map(([parent, json]) => [parent, JSON.parse(json) as LinkEvidence]));
    },
  };
}

export type LineageLinks = ReturnType<typeof createLineageLinks>;
