import { createHash } from 'node:crypto';
import { caseId, caseSummary, caseWithAlert, type Alert, type Case } from '@flopwatch/contracts';
import { AuditContentionError, MAX_CHAIN_ATTEMPTS, type AuditLog } from './audit.js';
import { caseIndexEntry } from './case-index.js';
import type { Keys } from './keys.js';
import { joinCase } from './case-moves.js';
import type { RedisClient } from './redis.js';
import { defineScripts } from './scripts.js';

/** The least an alert record needs for storage: the contracts' alert. */
export type StoredAlert = Alert;

export interface AlertStoreOptions {
  redis: RedisClient;
  keys: Keys;
  audit: AuditLog;
}

/** Who raises alerts when the alert's history does not say. */
const DEFAULT_ACTOR = 'flopwatch-ingest';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

export function createAlertStore({ redis, keys, audit }: AlertStoreOptions) {
  const scripts = defineScripts(redis);
  return {
    /**
     * Creates the alert and its outbox entry once, and opens or escalates its case with the audit
     * entry of that change (unsealed, sealed later), in one script (lua/raise-alert-8.lua, with the case's queue indexes: case-index.ts); true when
     * this call created it. An alert joining a case that is not open takes its status (joinCase). Only raises of the same case can conflict (compare-and-set on the case's
     * version): they re-read it and retry.
     */
    async raise<A extends StoredAlert>(alert: A): Promise<boolean> {
      const actor = alert.history[0]?.actor ?? DEFAULT_ACTOR;
      const id = caseId(alert);
      for (let attempt = 0; attempt < MAX_CHAIN_ATTEMPTS; attempt++) {
        const text = await redis.get(keys.cases.record(id));
        const current = text === null ? null : (JSON.parse(text) as Case);
        const next = caseWithAlert(current, alert, actor);
        // An alert joining an acknowledged, escalated or closed case takes its status (case-moves.ts).
        const stored = joinCase(alert, next, actor);
        // open | level | reopen; a lower level raised late is only listed in the case.
        const event = !current ? 'open' : next.history.length > current.history.length ? next.history.at(-1)!.action : 'alert';
        const write = audit.write({
          actor, action: `case.${event}`, object: `case:${id}`,
          before: caseSummary(current), after: caseSummary(next), note: `alert ${alert.id} (${alert.rule}, level ${alert.level}, ${alert.severity})`,
          at: new Date(alert.raisedAt),
        });
        const reply = await scripts.raiseAlert({
          keys: {
            record: keys.alerts.record(alert.id), outbox: keys.alerts.outbox, index: keys.alerts.index,
            case: keys.cases.record(id), caseIndex: keys.cases.index, unsealed: keys.audit.unsealed,
            caseEntries: keys.cases.entries, caseCounts: keys.cases.counts,
          },
          args: {
            ...write, alertId: alert.id, alert: JSON.stringify(stored), raisedAt: Date.parse(alert.raisedAt),
            caseId: id, case: JSON.stringify(next), openedAt: Date.parse(next.openedAt), caseVersion: text === null ? '' : sha1(text),
            caseIndexEntry: JSON.stringify(caseIndexEntry(next)),
          },
        });
        if (reply !== 'stale') return reply === 'done';
      }
      throw new AuditContentionError(`case ${id} (alert ${alert.id})`);
    },

    /** Which of these alert ids already exist. */
    async existing(ids: string[]): Promise<Set<string>> {
      const flags = await Promise.all(ids.map((id) => redis.exists(keys.alerts.record(id))));
      return new Set(ids.filter((_, i) => flags[i] === 1));
    },

    /** Alerts raised since `sinceMs` (by raisedAt), oldest first. */
    async since<A extends { id: string } = Alert>(sinceMs = 0): Promise<A[]> {
      const ids = await redis.zrangebyscore(keys.alerts.index, sinceMs, '+inf');
      const out: A[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        for (const raw of await redis.mget(...ids.slice(i, i + 500).map((id) => keys.alerts.record(id)))) if (raw !== null) out.push(JSON.parse(raw) as A);
      }
      return out;
    },

    /** The most recently raised alerts, newest first, at most `max` (one MGET per 500: they share the {alerts} tag). */
    async recent<A extends { id: string } = Alert>(max: number): Promise<A[]> {
      const ids = await redis.zrevrange(keys.alerts.index, 0, max - 1);
      const out: A[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        for (const raw of await redis.mget(...ids.slice(i, i + 500).map((id) => keys.alerts.record(id)))) if (raw !== null) out.push(JSON.parse(raw) as A);
      }
      return out;
    },

    async get<A extends { id: string } = Alert>(id: string): Promise<A | null> {
      const raw = await redis.get(keys.alerts.record(id));
      return raw === null ? null : (JSON.parse(raw) as A);
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;
