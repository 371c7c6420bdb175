// The API runs the audit sealer (store's audit-sealer.ts): every replica runs the loop and a lease
// in Redis lets one seal at a time, so there is no extra deployment to forget and sealing goes on
// while any replica lives. The API is also where the audit trail is read: a reader seals what waits
// before it answers. The ingest only writes entries (alerts, cases); it never seals.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KafkaProducer } from '@flopwatch/kafka';
import type { Logger } from 'pino';
import type { Lineage, Tenant } from '@flopwatch/contracts';
import { startAuditSealer, type AuditIntent, type AuditSealer, type IntentOutcome, type Store } from '@flopwatch/store';
import { publishAuditOutbox } from './audit-topic.js';

/** JSON with keys sorted: two records compared as values, whatever order their keys were written in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** A record without the timestamp the API sets, for comparing with an intent's `after`. */
const content = (record: unknown) => {
  if (!record || typeof record !== 'object') return canonicalJson(record);
  const { updatedAt: _ignored, ...rest } = record as Record<string, unknown>;
  return canonicalJson(rest);
};

/**
 * Settles an intent its writer could not confirm by looking at the record: the record holds the
 * change → `applied` (the entry is written, noted as confirmed afterwards); a webhook delete whose
 * endpoint is still there → `not_applied`; anything else → `unknown`, left for verify to name (an
 * operator decides).
 */
export function intentChecker(store: Store): (intent: AuditIntent) => Promise<IntentOutcome> {
  return async (intent) => {
    const colon = intent.object.indexOf(':');
    const kind = intent.object.slice(0, colon);
    const id = intent.object.slice(colon + 1);
    if (kind === 'tenant') {
      const current = await store.registry.getTenant<Tenant>(id);
      return current && content(current) === content(intent.after) ? 'applied' : 'unknown';
    }
    if (kind === 'lineage') {
      const current = await store.registry.getLineage<Lineage>(id);
      return current && canonicalJson(current) === canonicalJson(intent.after) ? 'applied' : 'unknown';
    }
    if (kind === 'webhook') {
      const endpoint = await store.webhooks.getEndpoint(id);
      if (intent.action === 'webhook.create') return endpoint ? 'applied' : 'unknown';
      if (intent.action === 'webhook.delete') return endpoint ? 'not_applied' : 'applied';
      if (intent.action === 'webhook.enable') return endpoint && endpoint.disabled === null ? 'applied' : 'unknown';
    }
    return 'unknown';
  };
}

export interface AuditSealingOptions {
  /** Pause between sealing rounds (ms). Default 1000. */
  intervalMs?: number;
  /** An intent younger than this is its writer's to confirm (ms). Default 30 s. */
  intentGraceMs?: number;
  /** Where sealed entries are published (the store must copy them to its outbox: auditPublish). */
  publish?: { producer: KafkaProducer; topic: string };
}

/** Starts the sealing loop with its gauges; close it with the app. */
export function startAuditSealing(store: Store, registry: Registry, log: Logger, opts: AuditSealingOptions = {}): AuditSealer {
  const unsealed = new Gauge({ name: 'flopwatch_audit_unsealed_entries', help: 'Audit entries written with their change but not yet sealed into the hash chain (as this replica last saw).', registers: [registry] });
  const unconfirmed = new Gauge({ name: 'flopwatch_audit_unconfirmed_intents', help: 'KYC, lineage and webhook changes recorded as intents whose audit entry is not confirmed, past the grace their writer has and not settled by looking at the record (GET /v1/audit/verify names them); set by the replica holding the sealer lease.', registers: [registry] });
  const leader = new Gauge({ name: 'flopwatch_audit_sealer_leader', help: '1 while this replica holds the audit sealer\'s lease.', registers: [registry] });
  const unpublished = new Gauge({ name: 'flopwatch_audit_unpublished_entries', help: 'Sealed audit entries waiting in the outbox to be published to the audit topic (set by the replica holding the sealer lease).', registers: [registry] });
  const published = new Counter({ name: 'flopwatch_audit_published_total', help: 'Sealed audit entries published to the audit topic (a resend after a failure counts again).', registers: [registry] });
  const publishFailures = new Counter({ name: 'flopwatch_audit_publish_failures_total', help: 'Rounds in which publishing the audit outbox to Kafka failed (retried the next round).', registers: [registry] });
  const target = opts.publish;
  let publishing = false;
  const publish = target
    ? async () => {
      try {
        const n = await publishAuditOutbox(store.audit, target.producer, target.topic);
        published.inc(n);
        if (publishing) log.info('audit publication recovered');
        publishing = false;
        return n;
      } catch (err) {
        publishFailures.inc();
        if (!publishing) log.warn({ err, topic: target.topic }, 'audit publication failed; retrying');
        publishing = true;
        return 0;
      } finally {
        unpublished.set(await store.audit.unpublishedCount().catch(() => 0));
      }
    }
    : undefined;
  let failing = false;
  return startAuditSealer({
    ...(publish ? { publish } : {}),
    audit: store.audit,
    checkIntent: intentChecker(store),
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    ...(opts.intentGraceMs !== undefined ? { intentGraceMs: opts.intentGraceMs } : {}),
    onRound: (r) => {
      if (failing) log.info('audit sealing recovered');
      failing = false;
      unsealed.set(r.unsealed);
      leader.set(r.leader ? 1 : 0);
      if (r.settled) unconfirmed.set(r.settled.open);
      if (r.sealed > 0) log.debug({ sealed: r.sealed, unsealed: r.unsealed }, 'audit entries sealed');
      if (r.settled && r.settled.confirmed + r.settled.dropped > 0) log.warn({ ...r.settled }, 'audit intents settled after their writer failed');
    },
    onError: (err) => {
      if (!failing) log.warn({ err }, 'audit sealing failed; retrying');
      failing = true;
    },
  });
}
