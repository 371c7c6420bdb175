import fc from 'fast-check';
import { ALERT_RULES, CASE_STATUSES, KYC_STATUSES, PRECISIONS, SEVERITIES, TRANSITION_ACTIONS, type PublicContractName } from '../src/index.js';

// Valid samples of each public contract, built by hand from the schemas' rules.
const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,20}$/);
const country = fc.constantFrom('US', 'DE', 'CN', 'RU', 'SG', 'AE', 'MO', 'TW');
const timestamp = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().replace(/\.\d{3}Z$/, 'Z'), d.toISOString().replace(/Z$/, '+02:00')));
const text = fc.string({ maxLength: 20 });
const name = fc.string({ minLength: 1, maxLength: 20 });
const operations = fc.double({ min: 0, max: 1e29, noNaN: true });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const tier = fc.constantFrom(1, 2, 3);

const usageData = fc.record(
  {
    tenantId: id,
    jobId: id,
    node: id,
    cluster: fc.record({ id, region: optional(name), country }, { requiredKeys: ['id', 'country'] }),
    accelerator: fc.record({ model: name, count: fc.integer({ min: 1, max: 1_000_000_000 }).map((n) => n / 1000) }),
    interval: fc.record({ start: timestamp, end: timestamp }),
    precision: fc.constantFrom(...PRECISIONS),
    utilization: fc.record({ tensorActive: fc.double({ min: 0, max: 1, noNaN: true }) }, { requiredKeys: [] }),
    operations: fc.option(operations, { nil: null }),
    lineage: fc.record({ id, parentId: fc.option(id, { nil: null }), checkpointIn: name, checkpointOut: name }, { requiredKeys: ['id'] }),
    labels: fc.dictionary(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,20}$/), text, { maxKeys: 3 }),
  },
  { requiredKeys: ['tenantId', 'jobId', 'cluster', 'accelerator', 'interval', 'precision'] },
);

const usageEvent = fc.record(
  {
    specversion: fc.constant('1.0'),
    type: fc.constant('io.flopwatch.gpu.usage.v1'),
    source: name,
    id: name,
    time: timestamp,
    subject: name,
    data: usageData,
  },
  { requiredKeys: ['specversion', 'type', 'source', 'id', 'data'] },
);

const slurmRecord = fc.record(
  {
    jobid: fc.nat(),
    account: name,
    cluster: name,
    partition: name,
    '@start': timestamp,
    '@end': fc.oneof(timestamp, fc.constant('2026-11-20T10:00:00')),
    elapsed: fc.nat(),
    tres_alloc: fc.constantFrom('cpu=64,gres/gpu=8', 'gres/gpu:h100=4', 'cpu=1'),
    state: fc.constantFrom('COMPLETED', 'FAILED', 'TIMEOUT'),
  },
  { requiredKeys: ['jobid', 'account', 'cluster', 'partition', '@start', '@end', 'elapsed', 'state'] },
);

const party = fc.record({ name, country });
const identifiers = fc.array(name, { maxLength: 3 });
const tenant = fc.record(
  {
    id,
    legalName: name,
    hqCountry: country,
    ultimateParent: fc.option(party, { nil: null }),
    beneficialOwners: fc.array(party, { maxLength: 3 }),
    identifiers: fc.record({ paymentFingerprints: identifiers, contactDomains: identifiers, beneficialOwnerIds: identifiers }, { requiredKeys: ['paymentFingerprints', 'contactDomains'] }),
    kycStatus: fc.constantFrom(...KYC_STATUSES),
    validatedEndUser: fc.boolean(),
    entityListMatch: fc.boolean(),
    notes: text,
    updatedAt: timestamp,
  },
  { requiredKeys: ['id', 'legalName', 'hqCountry', 'ultimateParent', 'beneficialOwners', 'identifiers', 'kycStatus', 'validatedEndUser', 'entityListMatch', 'notes'] },
);

const lineage = fc.record(
  {
    id,
    parentId: fc.option(id, { nil: null }),
    tenantId: id,
    baseModel: fc.option(fc.record({ name, publishedWeights: fc.boolean(), pretrainingOperations: fc.option(operations, { nil: null }) }), { nil: null }),
    notes: text,
  },
  { requiredKeys: ['id', 'parentId', 'baseModel', 'notes'] },
);

const transitionAction = fc.constantFrom(...TRANSITION_ACTIONS);
const alertTransition = fc.record({ action: transitionAction, note: text, actor: name }, { requiredKeys: ['action'] });
const caseStatus = fc.constantFrom(...CASE_STATUSES);

const alert = fc.record({
  id: fc.stringMatching(/^al_[0-9a-f]{24}$/),
  rule: fc.constantFrom(...ALERT_RULES),
  scope: fc.constantFrom('lineage', 'tenant', 'group'),
  subject: id,
  level: fc.constantFrom(0.1, 0.25, 0.5, 0.8, 0.9, 1),
  threshold: fc.constantFrom(1e26, 1e23),
  observedOperations: operations,
  projectedCrossingAt: fc.option(timestamp, { nil: null }),
  severity: fc.constantFrom(...SEVERITIES),
  kyc: fc.option(
    fc.record({ tenantId: id, hqCountry: fc.option(country, { nil: null }), ownerCountries: fc.array(country, { maxLength: 2 }), tier, kycStatus: fc.constantFrom(...KYC_STATUSES), trusted: fc.boolean(), reasons: fc.array(text, { maxLength: 2 }) }),
    { nil: null },
  ),
  hardware: fc.record({ countries: fc.array(country, { maxLength: 2 }), tiers: fc.array(tier, { maxLength: 2 }), models: fc.array(name, { maxLength: 2 }) }),
  evidence: fc.record({
    topJobs: fc.array(fc.record({ tenantId: id, jobId: id, operations }), { maxLength: 2 }),
    contributingTenants: fc.array(fc.record({ tenantId: id, operations }), { maxLength: 2 }),
  }),
  policyVersion: name,
  raisedAt: timestamp,
  status: caseStatus,
  history: fc.array(
    fc.record({ at: timestamp, action: fc.oneof(fc.constant('raise'), transitionAction), from: fc.option(caseStatus, { nil: null }), to: caseStatus, actor: name, note: text }, { requiredKeys: ['at', 'action', 'from', 'to', 'actor'] }),
    { maxLength: 2 },
  ),
});

const webhookPayload = fc.oneof(
  fc.record({ type: fc.constantFrom('alert.raised', 'alert.updated'), timestamp, data: alert }),
  fc.record({ type: fc.constant('webhook.test'), timestamp, data: fc.record({ webhookId: name, message: text }) }),
);

/** A valid sample generator per public contract. */
export const VALID_SAMPLES: Record<PublicContractName, fc.Arbitrary<unknown>> = {
  'usage-event': usageEvent,
  'slurm-job-record': slurmRecord,
  tenant,
  lineage,
  alert,
  'alert-transition': alertTransition,
  'webhook-payload': webhookPayload,
};

const DELETE = Symbol('delete');

// Values that sit on or across the schemas' edges: bounds, formats, wrong types.
const replacement = fc.oneof(
  fc.constant(DELETE),
  fc.constantFrom<unknown>(-1, 0, 0.5, 1, 2, 3, 1.0005, 0.0001, 1e7, 1e31, 2 ** 53, '', ' ', 'x y', 'US', 'us', 'XX', 'ZZZ', 'bf16', 'fp12', 'open', 'raise', 'alert.raised'),
  fc.constantFrom<unknown>('2026-11-20T10:06:00Z', '2026-02-29T10:00:00Z', '2026-11-20T25:00:00Z', '2026-11-20 10:06:00', '2026-11-20T10:06:00', 'al_0123456789abcdef01234567'),
  fc.constantFrom<unknown>(null, true, false, [], {}, ['a'], { a: 1 }),
  fc.string({ maxLength: 140 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function containers(value: Json, out: Array<Json[] | { [key: string]: Json }> = []): Array<Json[] | { [key: string]: Json }> {
  if (value !== null && typeof value === 'object') {
    out.push(value);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

/** A sample with one change: a field replaced or removed, an element replaced, or an unknown key added. */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(), fc.nat(), replacement, fc.boolean()).map(([sample, which, slot, value, addKey]) => {
    const copy = JSON.parse(JSON.stringify(sample)) as Json;
    const targets = containers(copy);
    const target = targets[which % targets.length];
    if (target === undefined) return value === DELETE ? copy : value;
    const keys = Object.keys(target);
    const key = addKey || keys.length === 0 ? `extra${slot % 3}` : keys[slot % keys.length]!;
    if (Array.isArray(target)) {
      const index = Number(key.replace('extra', '')) % (target.length + 1);
      if (value === DELETE) target.splice(index, 1);
      else target[index] = value as Json;
    } else if (value === DELETE) {
      delete target[key];
    } else {
      target[key] = value as Json;
    }
    return copy;
  });
}
