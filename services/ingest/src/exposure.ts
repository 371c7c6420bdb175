import type { Store } from '@flopwatch/store';
import { teraToOps } from '@flopwatch/store';

const DAY_MS = 86_400_000;
const MGET_CHUNK = 500;

/** One subject that has reached at least the lowest alert level of a rule. */
export interface SubjectExposure {
  rule: string;
  scope: string;
  subject: string;
  /** Hardware-risk tier of the tenant behind the subject's alerts ("unknown" when none was recorded). */
  tier: string;
  /** Current operations divided by the rule's threshold. */
  fraction: number;
  /** When the trailing-24 h burn rate reaches the threshold (epoch ms); null when not burning or past it. */
  projectedCrossingMs: number | null;
}

/** What the compliance gauges show, read from Redis on a scrape. */
export interface ExposureSnapshot {
  /** Alert cases by status. */
  cases: Map<string, number>;
  /** Every subject with at least one threshold alert, highest fraction first. */
  subjects: SubjectExposure[];
}

export interface ExposureOptions {
  store: Store;
  /** Most recent alerts read per scrape (bounds the cost of a scrape). */
  maxAlerts?: number;
  now?: () => number;
}

interface AlertView {
  rule: string;
  scope: string;
  subject: string;
  status: string;
  threshold: number;
  observedOperations: number;
  kyc?: { tier?: number } | null;
}

interface Measure {
  operations: number;
  /** Tenants whose trailing 24 h make up the subject's burn rate. */
  burners: string[];
}

/**
 * Reads alert cases and the subjects they are about, then the subjects' current totals. The alert
 * records say which subjects passed a level (alerts are raised once per level crossed); the totals say
 * where they stand now, so a subject's fraction keeps moving between two alerts.
 */
export async function readExposure({ store, maxAlerts = 20_000, now = Date.now }: ExposureOptions): Promise<ExposureSnapshot> {
  const alerts = await recentAlerts(store, maxAlerts);
  const cases = new Map<string, number>();
  const bySubject = new Map<string, AlertView>();
  for (const a of alerts) {
    cases.set(a.status, (cases.get(a.status) ?? 0) + 1);
    if (!(a.threshold > 0)) continue;
    const key = `${a.rule}\u0000${a.scope}\u0000${a.subject}`;
    const seen = bySubject.get(key);
    if (!seen || a.observedOperations > seen.observedOperations) bySubject.set(key, { ...a, kyc: a.kyc ?? seen?.kyc ?? null });
  }
  const at = now();
  const subjects = await Promise.all(
    [...bySubject.values()].map(async (a): Promise<SubjectExposure> => {
      const m = (await measure(store, a)) ?? { operations: a.observedOperations, burners: [] };
      const burnOpsPerMs = teraToOps(await sumField(store, m.burners, 'r24')) / DAY_MS;
      const remaining = a.threshold - m.operations;
      return {
        rule: a.rule,
        scope: a.scope,
        subject: a.subject,
        tier: a.kyc?.tier === undefined ? 'unknown' : String(a.kyc.tier),
        fraction: m.operations / a.threshold,
        projectedCrossingMs: remaining > 0 && burnOpsPerMs > 0 ? at + remaining / burnOpsPerMs : null,
      };
    }),
  );
  subjects.sort((x, y) => y.fraction - x.fraction);
  return { cases, subjects };
}

async function recentAlerts(store: Store, max: number): Promise<AlertView[]> {
  const ids = await store.redis.zrevrange(store.keys.alerts.index, 0, max - 1);
  const out: AlertView[] = [];
  for (let i = 0; i < ids.length; i += MGET_CHUNK) {
    const keys = ids.slice(i, i + MGET_CHUNK).map((id) => store.keys.alerts.record(id));
    // Alert records share the {alerts} hash tag, so one MGET works on Redis Cluster too.
    for (const raw of await store.redis.mget(...keys)) if (raw !== null) out.push(JSON.parse(raw) as AlertView);
  }
  return out;
}

/** The subject's current operations as its rule measures them; null for rules measured otherwise. */
async function measure(store: Store, a: AlertView): Promise<Measure | null> {
  if (a.scope === 'lineage') {
    const c = await store.usage.lineageCumulative(a.subject);
    return { operations: c.operations, burners: [...c.byTenant.keys()] };
  }
  if (a.scope === 'group') {
    const members = await store.registry.groupMembers(a.subject);
    return { operations: teraToOps(await sumField(store, members, 'r365')), burners: members };
  }
  if (a.scope !== 'tenant') return null;
  // tenant-approach counts the trailing window; the KYC rules count controlled Tier 1 usage.
  if (a.rule === 'tenant-approach') return { operations: teraToOps(await sumField(store, [a.subject], 'r365')), burners: [a.subject] };
  if (a.rule === 'unverified-at-scale' || a.rule === 'parent-in-tier3') {
    return { operations: teraToOps(await sumField(store, [a.subject], 'ctl1_ops')), burners: [a.subject] };
  }
  return null;
}

async function sumField(store: Store, tenants: string[], field: string): Promise<number> {
  const values = await Promise.all(tenants.map((t) => store.redis.hget(store.keys.tenant.totals(t), field)));
  return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
}
