import { dropPrefix, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import type { Alert, Tenant, UsageEvent } from '@flopwatch/contracts';
import type { PolicyPack } from '@flopwatch/policy';
import { caughtUp, defaultPack, encode, startIngest, testProducer, testStore, testTopics } from './helpers.js';

export const HOUR = 3_600_000;
/** H100 SXM5 BF16 dense peak × 1 h × 50 % tensor-active, per GPU. */
export const OPS_PER_H100_HOUR = 989.4e12 * 3600 * 0.5;

/** A KYC record; untrusted unless said otherwise is the caller's choice. */
export function kyc(id: string, over: Partial<Tenant> = {}): Tenant {
  return {
    id, legalName: `${id} Ltd`, hqCountry: 'SG', ultimateParent: null, beneficialOwners: [],
    identifiers: { paymentFingerprints: [], contactDomains: [] }, kycStatus: 'verified', validatedEndUser: false, entityListMatch: false, notes: '',
    ...over,
  };
}

export interface RunSpec {
  tenantId: string;
  jobId?: string;
  hours: number;
  gpus: number;
  /** Epoch ms of the first hour. */
  startMs: number;
  country?: string | ((hour: number) => string);
  lineage?: { id: string; checkpointIn?: string; checkpointOut?: string };
}

/** Hour-long usage events of one job at 50 % tensor-active on H100s. */
export function run(spec: RunSpec): UsageEvent[] {
  return Array.from({ length: spec.hours }, (_, i) => {
    const country = typeof spec.country === 'function' ? spec.country(i) : (spec.country ?? 'US');
    const e = usageEvent({ tenantId: spec.tenantId, jobId: spec.jobId ?? `${spec.tenantId}-job`, startMs: spec.startMs + i * HOUR, seconds: 3600, gpus: spec.gpus, tensorActive: 0.5, country }) as UsageEvent;
    if (spec.lineage) e.data.lineage = { id: spec.lineage.id, parentId: null, ...(spec.lineage.checkpointIn ? { checkpointIn: spec.lineage.checkpointIn } : {}), ...(spec.lineage.checkpointOut ? { checkpointOut: spec.lineage.checkpointOut } : {}) };
    return e;
  });
}

/** An ingest on fresh topics and a fresh key prefix, and ways to feed it and read its alerts. */
export async function scenario(pack: PolicyPack = defaultPack()) {
  const topics = await testTopics();
  const { redis, store, prefix, keys } = testStore();
  const { producer, close: closeProducer } = await testProducer();
  const groupId = uniqueId('rules');
  const ingest = await startIngest({ topics, groupId, store, pack });
  return {
    store,
    /** The Redis client and the store's key names, to read Redis directly. */
    redis,
    keys,
    pack,
    async send(events: UsageEvent[]) {
      await producer.send(topics.telemetry, encode(events));
      await waitFor(() => caughtUp(groupId, topics), { what: 'the group to catch up', timeoutMs: 60_000 });
    },
    async alerts(): Promise<Alert[]> {
      const ids = await redis.zrange(keys.alerts.index, 0, -1);
      return (await Promise.all(ids.map((id) => store.alerts.get<Alert>(id)))).filter((a): a is Alert => a !== null);
    },
    /** [rule, subject, level, severity] of every alert, sorted: the exact set a scenario expects. */
    async summary(): Promise<[string, string, number, string][]> {
      return (await this.alerts()).map((a) => [a.rule, a.subject, a.level, a.severity] as [string, string, number, string]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    },
    async close() {
      await ingest.close();
      await closeProducer();
      await dropPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

export type Scenario = Awaited<ReturnType<typeof scenario>>;

/** The default pack with some rules switched off, so a scenario's alerts are exactly its rule's. */
export function packWithout(...rules: (keyof PolicyPack['rules'])[]): PolicyPack {
  const pack = defaultPack();
  for (const r of rules) pack.rules[r] = { ...pack.rules[r], enabled: false } as never;
  return pack;
}

export const sorted = <T>(rows: T[]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
