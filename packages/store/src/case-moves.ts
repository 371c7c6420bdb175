// Case and alerts move together. A case transition moves each of its alerts that allows it, an alert
// transition moves its case by the rule below, and both are one script (lua/move-case-6n.lua) that
// writes the case, its alerts, their outbox entries and the audit entries, or nothing: no crash or
// conflict can leave a resolved case with open alerts (Alertmanager firing it, webhooks never told).
//
// What "agree" means (docs/console.md, "Cases and their alerts"):
// - every alert of a case that is not closed has the case's status (an alert joining a case takes its
//   status, see joinCase; a case transition moves all of them), so a closed case has no open alert;
// - an active case has an alert that is not closed (resolving the last one closes the case).
// reconcile() brings a case written otherwise (by a version that moved alerts one by one afterwards)
// back to that.
import { createHash } from 'node:crypto';
import { applyTransition, caseId, caseSummary, ContractError, isClosed, type Alert, type Case, type CaseHistoryEntry, type CaseStatus, type TransitionAction, withEvent } from '@flopwatch/contracts';
import { AuditContentionError, MAX_CHAIN_ATTEMPTS, type AuditLog, type NewAuditEntry } from './audit.js';
import { caseIndexEntry } from './case-index.js';
import { CaseNotFoundError } from './casebook.js';
import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** Who moves, and why. */
export interface MoveBy {
  /** The audit actor (the API key's name). */
  actor: string;
  /** The actor written in the alert's own history, when another than `actor` (an admin naming one). */
  historyActor?: string;
  note?: string;
  requestId?: string;
  at: Date;
}

/** A case and its alerts as a move left them. */
export interface CaseMove {
  case: Case;
  /** The case's alerts, as stored after the move. */
  alerts: Alert[];
  /** Ids of the alerts this move changed. */
  moved: string[];
}

/** Thrown by moveAlert() when the alert does not exist. */
export class AlertNotFoundError extends Error {
  readonly code = 'ALERT_NOT_FOUND';
  readonly retryable = false;
  constructor(readonly alertId: string) {
    super(`alert ${alertId} does not exist`);
  }
}

/** What reconcile() did to one case: how many records it changed (0: they agreed). */
export interface Reconciled {
  caseId: string;
  changed: number;
}

type Entry = Omit<NewAuditEntry, 'object'>;

interface Snapshot {
  text: string;
  case: Case;
  /** Every alert the case lists (and the one moved), as read; null when its record is gone. */
  alerts: { id: string; text: string | null; alert: Alert | null }[];
}

interface Plan {
  next: Case | null;
  entry: Entry | null;
  alerts: Map<string, { next: Alert; entry: Entry }>;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** The transition that takes an open alert to a status (none for `open`). */
const ARRIVE: Record<CaseStatus, TransitionAction | null> = { open: null, acknowledged: 'acknowledge', escalated: 'escalate', resolved: 'resolve', false_positive: 'mark_false_positive' };

/** How far on an active status is; a case follows its furthest alert in recovery. */
const ACTIVE_RANK: Partial<Record<CaseStatus, number>> = { open: 0, acknowledged: 1, escalated: 2 };

const allows = (status: CaseStatus, action: TransitionAction) => {
  try {
    applyTransition(status, action);
    return true;
  } catch (err) {
    if (err instanceof ContractError) return false;
    throw err;
  }
};

const withNote = (prefix: string, note?: string) => `${prefix}${note ? `: ${note}` : ''}`;

function moveAlertRecord(a: Alert, action: TransitionAction, actor: string, at: string, note?: string): Alert {
  const to = applyTransition(a.status, action);
  const entry: CaseHistoryEntry = { at, action, from: a.status, to, actor, ...(note ? { note } : {}) };
  return { ...a, status: to, history: [...a.history, entry] };
}

function moveCaseRecord(c: Case, action: TransitionAction, actor: string, at: string, note?: string, alertId?: string): Case {
  const to = applyTransition(c.status, action);
  return { ...c, status: to, updatedAt: at, ...withEvent(c, { at, action, actor, from: c.status, to, ...(note ? { note } : {}), ...(alertId ? { alertId } : {}) }) };
}

const alertEntry = (before: Alert, after: Alert, by: MoveBy, action: TransitionAction, note?: string): Entry =>
  ({ actor: by.actor, action: `alert.${action}`, before: { status: before.status }, after: { status: after.status }, ...(note ? { note } : {}), ...(by.requestId ? { requestId: by.requestId } : {}), at: by.at });

const caseEntry = (before: Case, after: Case, by: MoveBy, action: TransitionAction, note?: string): Entry =>
  ({ actor: by.actor, action: `case.${action}`, before: caseSummary(before), after: caseSummary(after), ...(note ? { note } : {}), ...(by.requestId ? { requestId: by.requestId } : {}), at: by.at });

/** Moves every alert of the snapshot that allows `action` (skipping `except`) into the plan, "with case". */
function bringAlerts(snap: Snapshot, plan: Plan, action: TransitionAction, by: MoveBy, except?: string) {
  const at = by.at.toISOString();
  for (const { id, alert } of snap.alerts) {
    if (!alert || id === except || !allows(alert.status, action)) continue;
    const note = withNote(`with case ${snap.case.id}`, by.note);
    const next = moveAlertRecord(alert, action, by.historyActor ?? by.actor, at, note);
    plan.alerts.set(id, { next, entry: alertEntry(alert, next, by, action, note) });
  }
}

/**
 * The alert as it joins `next` (the case after it): it takes the case's status unless that is open
 * (a new case, a reopened one), so an alert raised late into an acknowledged or closed case agrees
 * with it instead of firing again.
 */
export function joinCase<A extends Alert>(alert: A, next: Case, actor: string): A {
  const action = ARRIVE[next.status];
  if (!action || alert.status === next.status || !allows(alert.status, action)) return alert;
  const entry: CaseHistoryEntry = { at: alert.raisedAt, action, from: alert.status, to: next.status, actor, note: `joins case ${next.id}, which is ${next.status}` };
  return { ...alert, status: next.status, history: [...alert.history, entry] };
}

/** Case and alert transitions as one step each, and the recovery of cases whose alerts drifted. */
export function createCaseMoves({ redis, keys, audit }: { redis: RedisClient; keys: Keys; audit: AuditLog }) {
  const scripts = defineScripts(redis);
  const snapshot = (text: string, ids: string[], texts: (string | null)[]): Snapshot => ({
    text, case: JSON.parse(text) as Case,
    alerts: ids.map((a, i) => ({ id: a, text: texts[i] ?? null, alert: texts[i] ? (JSON.parse(texts[i]) as Alert) : null })),
  });
  const alertIds = (text: string) => (JSON.parse(text) as Case).alerts.map((a) => a.id);

  async function read(id: string, extra?: { id: string; text: string }): Promise<Snapshot | null> {
    const text = await redis.get(keys.cases.record(id));
    if (text === null) return null;
    const ids = [...new Set([...alertIds(text), ...(extra ? [extra.id] : [])])];
    return snapshot(text, ids, ids.length === 0 ? [] : await redis.mget(...ids.map((a) => keys.alerts.record(a))));
  }

  /** Snapshots of many cases in two reads (they share the {alerts} slot); cases gone meanwhile are left out. */
  async function readMany(caseIds: string[]): Promise<Snapshot[]> {
    const texts = caseIds.length === 0 ? [] : await redis.mget(...caseIds.map((id) => keys.cases.record(id)));
    const found = texts.filter((t): t is string => t !== null);
    const ids = found.map(alertIds);
    const flat = ids.flat();
    const alertTexts = flat.length === 0 ? [] : await redis.mget(...flat.map((a) => keys.alerts.record(a)));
    let offset = 0;
    return found.map((text, i) => {
      const own = alertTexts.slice(offset, offset + ids[i]!.length);
      offset += ids[i]!.length;
      return snapshot(text, ids[i]!, own);
    });
  }

  /** Writes the plan if the case and every alert read are unchanged (lua/move-case-6n.lua). */
  async function commit(snap: Snapshot, plan: Plan): Promise<'written' | 'conflict' | 'missing'> {
    // An entry not written: a record only checked, or the case left as it is.
    const none = { at: '', actor: '', action: '', object: '', data: '' };
    const caseWrite = plan.next && plan.entry ? audit.write({ ...plan.entry, object: `case:${snap.case.id}` }) : none;
    const alertChanges = snap.alerts.flatMap(({ id, text }) => {
      const change = plan.alerts.get(id);
      const e = change ? audit.write({ ...change.entry, object: `alert:${id}` }) : none;
      return [id, text === null ? '' : sha1(text), change ? JSON.stringify(change.next) : '', e.at, e.actor, e.action, e.object, e.data];
    });
    const reply = await scripts.moveCase({
      keys: {
        case: keys.cases.record(snap.case.id), caseIndex: keys.cases.index, outbox: keys.alerts.outbox, unsealed: keys.audit.unsealed,
        caseEntries: keys.cases.entries, caseCounts: keys.cases.counts, alerts: snap.alerts.map((a) => keys.alerts.record(a.id)),
      },
      args: {
        caseId: snap.case.id, caseVersion: sha1(snap.text), case: plan.next && plan.entry ? JSON.stringify(plan.next) : '', openedAt: Date.parse(snap.case.openedAt),
        ...caseWrite, caseIndexEntry: plan.next && plan.entry ? JSON.stringify(caseIndexEntry(plan.next)) : '', alertChanges,
      },
    });
    return reply === 'done' ? 'written' : reply === 'not_found' ? 'missing' : 'conflict';
  }

  const result = (snap: Snapshot, plan: Plan): CaseMove => ({
    case: plan.next ?? snap.case,
    alerts: snap.alerts.flatMap(({ id, alert }) => (plan.alerts.get(id)?.next ?? alert) ?? []),
    moved: [...plan.alerts.keys()],
  });

  /** The plan of reconcile(): empty when the case and its alerts agree. */
  function recovery(snap: Snapshot, at: Date): Plan {
    const plan: Plan = { next: null, entry: null, alerts: new Map() };
    const c = snap.case;
    const by: MoveBy = { actor: 'flopwatch', at, note: 'recovered' };
    const alerts = snap.alerts.flatMap((a) => a.alert ?? []);
    const active = alerts.filter((a) => !isClosed(a.status));
    const moveTo = (action: TransitionAction, why: string) => {
      plan.next = moveCaseRecord(c, action, by.actor, at.toISOString(), why);
      plan.entry = caseEntry(c, plan.next, by, action, `recovered: ${why}`);
    };
    if (!isClosed(c.status) && alerts.length > 0 && active.length === 0) {
      // Every alert closed but not the case: it closes the way its last alert did.
      const last = alerts.map((a) => a.history.at(-1)!).sort((x, y) => x.at.localeCompare(y.at)).at(-1)!;
      moveTo(last.to === 'false_positive' ? 'mark_false_positive' : 'resolve', 'its alerts are all closed');
    } else if (!isClosed(c.status)) {
      // An alert further on than its active case (escalated on its own) takes the case with it.
      const ahead = active.reduce<CaseStatus>((s, a) => (ACTIVE_RANK[a.status]! > ACTIVE_RANK[s]! ? a.status : s), c.status);
      if (ahead !== c.status) moveTo(ARRIVE[ahead]!, `an alert of it is ${ahead}`);
    }
    // Every alert not closed follows the case's status.
    const target = plan.next?.status ?? c.status;
    const action = ARRIVE[target];
    if (action) for (const a of snap.alerts) if (a.alert && !isClosed(a.alert.status) && a.alert.status !== target && allows(a.alert.status, action)) bringAlerts({ ...snap, alerts: [a] }, plan, action, by);
    return plan;
  }

  /**
   * Brings a case and its alerts to agree, in one step, as `flopwatch` with the note `recovered`: a
   * case whose alerts are all closed closes the way the last one did; an active case follows its
   * furthest alert; then the alerts left behind follow the case. Returns how many records it changed (0 when they agreed; null: no such case).
   */
  async function reconcile(id: string, at = new Date()): Promise<number | null> {
    for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
      const snap = await read(id);
      if (!snap) return null;
      const plan = recovery(snap, at);
      const changed = plan.alerts.size + (plan.next ? 1 : 0);
      if (changed === 0) return 0;
      const outcome = await commit(snap, plan);
      if (outcome === 'written') return changed;
      if (outcome === 'missing') return null;
    }
    throw new AuditContentionError(`case ${id}`);
  }

  return {
    /**
     * Moves the case and each of its alerts that allows it, in one step with their outbox and audit
     * entries. Throws CaseNotFoundError, ContractError (the lifecycle forbids it: nothing written) or
     * AuditContentionError (kept changing: nothing written, retryable).
     */
    async moveCase(id: string, action: TransitionAction, by: MoveBy): Promise<CaseMove> {
      for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
        const snap = await read(id);
        if (!snap) throw new CaseNotFoundError(id);
        const next = moveCaseRecord(snap.case, action, by.actor, by.at.toISOString(), by.note);
        const plan: Plan = { next, entry: caseEntry(snap.case, next, by, action, by.note), alerts: new Map() };
        bringAlerts(snap, plan, action, by);
        const outcome = await commit(snap, plan);
        if (outcome === 'written') return result(snap, plan);
        if (outcome === 'missing') throw new CaseNotFoundError(id);
      }
      throw new AuditContentionError(`case ${id}`);
    },

    /**
     * Moves the alert and, in the same step, its case: acknowledge and escalate move the case (and so
     * its other alerts) when the case allows it; resolve and mark_false_positive close the case when
     * no other alert of it stays open. Throws AlertNotFoundError, ContractError or AuditContentionError.
     */
    async moveAlert(alertId: string, action: TransitionAction, by: MoveBy): Promise<Omit<CaseMove, 'case'> & { case: Case | null; alert: Alert }> {
      for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
        const text = await redis.get(keys.alerts.record(alertId));
        if (text === null) throw new AlertNotFoundError(alertId);
        const read0 = JSON.parse(text) as Alert;
        applyTransition(read0.status, action);
        const snap = await read(caseId(read0), { id: alertId, text });
        if (!snap) {
          // An alert without a case (raised before alerts had cases) moves alone.
          const next = moveAlertRecord(read0, action, by.historyActor ?? by.actor, by.at.toISOString(), by.note);
          const write = audit.write({ ...alertEntry(read0, next, by, action, by.note), object: `alert:${alertId}` });
          const reply = await scripts.transitionAlert({
            keys: { record: keys.alerts.record(alertId), outbox: keys.alerts.outbox, unsealed: keys.audit.unsealed },
            args: { ...write, alertId, version: sha1(text), record: JSON.stringify(next) },
          });
          if (reply === 'done') return { case: null, alerts: [next], moved: [alertId], alert: next };
          if (reply === 'not_found') throw new AlertNotFoundError(alertId);
          continue; // stale: read again
        }
        const own = snap.alerts.find((a) => a.id === alertId)!;
        if (!own.alert) throw new AlertNotFoundError(alertId);
        const at = by.at.toISOString();
        const next = moveAlertRecord(own.alert, action, by.historyActor ?? by.actor, at, by.note);
        const plan: Plan = { next: null, entry: null, alerts: new Map([[alertId, { next, entry: alertEntry(own.alert, next, by, action, by.note) }]]) };
        const othersOpen = snap.alerts.some((a) => a.id !== alertId && a.alert && !isClosed(a.alert.status));
        const closes = action === 'resolve' || action === 'mark_false_positive';
        if (allows(snap.case.status, action) && (!closes || !othersOpen)) {
          const note = withNote(`with alert ${alertId}`, by.note);
          plan.next = moveCaseRecord(snap.case, action, by.actor, at, by.note, alertId);
          plan.entry = caseEntry(snap.case, plan.next, by, action, note);
          bringAlerts(snap, plan, action, by, alertId);
        }
        const outcome = await commit(snap, plan);
        if (outcome === 'written') return { ...result(snap, plan), alert: next };
        if (outcome === 'missing') throw new CaseNotFoundError(snap.case.id);
      }
      throw new AuditContentionError(`alert ${alertId}`);
    },

    reconcile,

    /** reconcile() over every case, oldest first, until `signal` aborts; yields each case it changed. */
    async *reconcileAll(at = new Date(), signal?: AbortSignal): AsyncGenerator<Reconciled> {
      const CHUNK = 200;
      for (let start = 0; ; start += CHUNK) {
        const ids = await redis.zrange(keys.cases.index, start, start + CHUNK - 1);
        // Read in bulk; only a case that disagrees is read again and written, by reconcile().
        for (const snap of await readMany(ids)) {
          if (signal?.aborted) return;
          const plan = recovery(snap, at);
          if (plan.alerts.size === 0 && !plan.next) continue;
          const changed = await reconcile(snap.case.id, at);
          if (changed) yield { caseId: snap.case.id, changed };
        }
        if (ids.length < CHUNK) return;
      }
    },
  };
}

export type CaseMoves = ReturnType<typeof createCaseMoves>;
