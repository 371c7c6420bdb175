import type { Alert } from '@flopwatch/contracts';
import { isFractionLevel, ruleStanding, type PolicyPack } from '@flopwatch/policy';
import type { Store } from '@flopwatch/store';

/** One subject that has reached at least the lowest alert level of a threshold rule. */
export interface SubjectExposure {
  rule: string;
  scope: string;
  subject: string;
  /** Hardware-risk tier of the tenant behind the subject's alerts ("unknown" when none was recorded). */
  tier: string;
  /** The rule's measured operations now divided by its threshold. */
  fraction: number;
  /** When the burn rate of the same measure reaches the threshold (epoch ms); null when not burning or past it. */
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
  pack: PolicyPack;
  /** Most recent alerts read per scrape (bounds the cost of a scrape). */
  maxAlerts?: number;
  now?: () => number;
}

type AlertView = Pick<Alert, 'rule' | 'scope' | 'subject' | 'status' | 'threshold' | 'observedOperations' | 'level' | 'levelBasis'> & { id: string; raisedAt: string; kyc?: { tier?: number } | null };

/**
 * Reads alert cases and the subjects they are about, then where each subject stands now, measured as
 * its rule measures it (the rule table's ruleStanding: the same measure, windows, burn rate and
 * projected-crossing function the rules use). Only alerts whose level is a fraction of a threshold
 * make a subject's ratio: velocity bands and limit rules (H100e held, a floor passed) do not.
 */
export async function readExposure({ store, pack, maxAlerts = 20_000, now = Date.now }: ExposureOptions): Promise<ExposureSnapshot> {
  const alerts = await store.alerts.recent<AlertView>(maxAlerts);
  const cases = new Map<string, number>();
  const bySubject = new Map<string, AlertView>();
  for (const a of alerts) {
    cases.set(a.status, (cases.get(a.status) ?? 0) + 1);
    if (!(a.threshold > 0) || !isFractionLevel(a)) continue;
    const key = `${a.rule}\u0000${a.scope}\u0000${a.subject}`;
    const seen = bySubject.get(key);
    if (!seen || a.observedOperations > seen.observedOperations) bySubject.set(key, { ...a, kyc: a.kyc ?? seen?.kyc ?? null });
  }
  const snapshots = store.snapshots.reader({ now });
  const subjects = await Promise.all(
    [...bySubject.values()].map(async (a): Promise<SubjectExposure> => {
      const standing = ruleStanding(a.rule, await snapshots.forSubject(a.scope, a.subject), pack);
      const operations = standing?.operations ?? a.observedOperations;
      const threshold = standing?.threshold ?? a.threshold;
      return {
        rule: a.rule,
        scope: a.scope,
        subject: a.subject,
        tier: a.kyc?.tier === undefined ? 'unknown' : String(a.kyc.tier),
        fraction: operations / threshold,
        projectedCrossingMs: standing?.projectedCrossingAt ? Date.parse(standing.projectedCrossingAt) : null,
      };
    }),
  );
  subjects.sort((x, y) => y.fraction - x.fraction);
  return { cases, subjects };
}
