import { evaluationTime, type SubjectSnapshot, type Tenant, type TenantSnapshot } from '@flopwatch/contracts';
import type { Books } from './books.js';
import type { Registry } from './registry.js';

// The one place subject snapshots are built. Every reader of "where does this subject stand" (the
// ingest's alerts and gauges, the API's usage and case pages) takes its snapshots from here, measured
// at the same event time; the hash fields behind them are books.ts's alone.

/** Where a snapshot reader takes tenant records and group members from (the registry unless cached). */
export interface SnapshotSources {
  /** A tenant's record and group (the ingest passes its cached registry view). */
  tenant?: (id: string) => Promise<{ record: Tenant | null; groupId: string | null }>;
  /** A group's member tenants. */
  groupMembers?: (groupId: string) => Promise<string[]>;
  /** Wall clock (epoch ms): used only when the books hold no event time at all. */
  now: () => number;
}

/** One evaluation's snapshots: each tenant is read once, the event clock once. */
export interface SnapshotReader {
  tenant(id: string): Promise<TenantSnapshot>;
  forTenant(id: string): Promise<Extract<SubjectSnapshot, { scope: 'tenant' }>>;
  forGroup(id: string): Promise<Extract<SubjectSnapshot, { scope: 'group' }>>;
  forLineage(id: string): Promise<Extract<SubjectSnapshot, { scope: 'lineage' }>>;
  forSubject(scope: SubjectSnapshot['scope'], id: string): Promise<SubjectSnapshot>;
}

/** Subject snapshots over the books and the registry. */
export function createSnapshots({ books, registry }: { books: Books; registry: Registry }) {
  return {
    /** A reader for one evaluation or request (memoised: drop it afterwards). */
    reader(sources: SnapshotSources): SnapshotReader {
      const tenantOf = sources.tenant ?? (async (id: string) => {
        const [record, groupId] = await Promise.all([registry.getTenant<Tenant>(id), registry.groupOf(id)]);
        return { record, groupId };
      });
      const membersOf = sources.groupMembers ?? ((id: string) => registry.groupMembers(id));
      const tenants = new Map<string, Promise<TenantSnapshot>>();
      const tenant = (id: string): Promise<TenantSnapshot> => {
        let p = tenants.get(id);
        if (!p) {
          p = Promise.all([tenantOf(id), books.tenantBooks(id)]).then(([{ record, groupId }, b]) => ({ id, record, groupId, books: b }));
          tenants.set(id, p);
        }
        return p;
      };
      let clock: Promise<number | null> | undefined;
      const asOf = async (members: TenantSnapshot[]) => evaluationTime(await (clock ??= books.eventClock()), members.map((m) => m.books.latestEndMs), sources.now());

      const forTenant = async (id: string) => {
        const t = await tenant(id);
        return { scope: 'tenant' as const, subject: id, asOfMs: await asOf([t]), tenant: t };
      };
      const forGroup = async (id: string) => {
        const members = await Promise.all((await membersOf(id)).map(tenant));
        return { scope: 'group' as const, subject: id, asOfMs: await asOf(members), members };
      };
      const forLineage = async (id: string) => {
        const lineage = await books.lineage(id);
        const ids = new Set([...Object.keys(lineage.own), ...lineage.ancestors.flatMap((a) => Object.keys(a.own))]);
        const members = await Promise.all([...ids].map(tenant));
        return { scope: 'lineage' as const, subject: id, asOfMs: await asOf(members), lineage, tenants: members };
      };
      return {
        tenant,
        forTenant,
        forGroup,
        forLineage,
        forSubject: (scope, id) => (scope === 'tenant' ? forTenant(id) : scope === 'group' ? forGroup(id) : forLineage(id)),
      };
    },
  };
}

export type Snapshots = ReturnType<typeof createSnapshots>;
