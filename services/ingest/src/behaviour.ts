import type { Logger } from 'pino';
import { SEVERITIES, type Alert, type Severity } from '@flopwatch/contracts';
import { analyseCoscheduling, type CoscheduleOptions, type PolicyPack, type RuleOutcome } from '@flopwatch/policy';
import { sleep } from '@flopwatch/runtime';
import { isTransientRedisError, type BehaviourLink, type Store, type SuspectedGroup } from '@flopwatch/store';
import { evaluateSubjects } from './alerts.js';
import type { RegistryView } from './registry-view.js';

// Behavioural links in the ingest's periodic work (docs/detection.md): every interval, the
// co-scheduling record and the checkpoint hand-offs are analysed into suspected links, and the
// suspected groups (connected components of links not dismissed) are evaluated like declared groups,
// by the group-scope rules of the table, at their own severity: a group held together by a suspected
// link raises at most `suspectedMaxSeverity`; one whose links are all confirmed, at the rules' own.

export interface BehaviourOptions extends CoscheduleOptions {
  /** Jobs that started within this many days before their cluster's latest start are analysed. */
  lookbackDays: number;
  /** Most severe alert a group joined by any link not yet confirmed raises. */
  suspectedMaxSeverity: Severity;
}

export interface BehaviourRun {
  links: BehaviourLink[];
  groups: SuspectedGroup[];
  raised: Alert[];
}

const capped = (s: Severity, cap: Severity): Severity => (SEVERITIES.indexOf(s) > SEVERITIES.indexOf(cap) ? cap : s);

/** One analysis: suspected links stored with their evidence, suspected groups evaluated. */
export async function runBehaviourAnalysis(ctx: { store: Store; pack: PolicyPack; view: RegistryView; now: () => Date }, options: BehaviourOptions): Promise<BehaviourRun> {
  const { store } = ctx;
  const { clusters, handoffs } = await store.behaviourLinks.inputs(options.lookbackDays);
  const found = analyseCoscheduling(clusters, handoffs, options).filter((o) => o.suspected).map((o) => o.pair);
  const links = await store.behaviourLinks.save(found);
  const groups = await store.behaviourLinks.groups();
  if (groups.length === 0) return { links, groups, raised: [] };
  const statusOf = new Map((await store.behaviourLinks.list()).map((l) => [l.id, l.status]));
  const byId = new Map(groups.map((g) => [g.id, g]));
  // The view answers a suspected group's members like a declared group's; the rest is the view's.
  const view: RegistryView = { ...ctx.view, groupMembers: (id: string) => (byId.has(id) ? Promise.resolve(byId.get(id)!.members) : ctx.view.groupMembers(id)) };
  const adjust = (o: RuleOutcome): RuleOutcome => {
    const g = o.draft.scope === 'group' ? byId.get(o.draft.subject) : undefined;
    if (!g || g.links.every((id) => statusOf.get(id) === 'confirmed')) return o;
    const severity = capped(o.draft.severity, options.suspectedMaxSeverity);
    return {
      ...o,
      draft: { ...o.draft, severity },
      why: `${o.why}; the tenants are linked by behaviour, not by declared identifiers (suspected links ${g.links.join(', ')})`,
    };
  };
  const raised = await evaluateSubjects({ groups: [...byId.keys()] }, { ...ctx, view, adjust });
  return { links, groups, raised };
}

export interface BehaviourLoop {
  close(): Promise<void>;
}

/** Runs the analysis every `intervalMs` until closed; a failure is logged and retried next round. */
export function startBehaviourAnalysis(ctx: { store: Store; pack: PolicyPack; view: RegistryView; now: () => Date; log: Logger }, options: BehaviourOptions & { intervalMs: number }): BehaviourLoop {
  const log = ctx.log.child({ component: 'behaviour' });
  const controller = new AbortController();
  const loop = (async () => {
    while (!controller.signal.aborted) {
      await sleep(options.intervalMs, controller.signal).catch(() => {});
      if (controller.signal.aborted) break;
      try {
        const run = await runBehaviourAnalysis(ctx, options);
        log.info({ suspected: run.links.length, groups: run.groups.length, raised: run.raised.length }, 'behavioural links analysed');
        for (const a of run.raised) log.info({ alertId: a.id, rule: a.rule, scope: a.scope, subject: a.subject, level: a.level, severity: a.severity }, 'alert raised on a suspected group');
      } catch (err) {
        log[isTransientRedisError(err) ? 'warn' : 'error']({ err }, 'behavioural link analysis failed; retried next round');
      }
    }
  })();
  return {
    async close() {
      controller.abort();
      await loop;
    },
  };
}
