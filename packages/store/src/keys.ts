// Every Redis key flopwatch uses is built here. Keys one script touches share a {hash tag}, so the
// same scripts run on a single Redis and on Redis Cluster:
//   {t:<tenant>}  all of a tenant's accounting state (one atomic script per tenant per batch)
//   {l:<lineage>} a lineage's record and its contributing tenants
//   {g:<group>}   a group's members
//   {alerts}      alert records, cases, their indexes, the outbox stream and the hash-chained audit log
//                 (alerts and case changes are rare; one slot lets one script change a case and write
//                 its audit entry atomically)
//   {registry}    registry indexes (tenant list, identifier → tenants)
//   {eval}        subjects whose alert evaluation has not finished yet (retried until it does)
//   {ck:<checkpoint>} which lineage wrote a checkpoint, and lineages that read it before it was known
//   {c:<cluster>} the collector's progress through a Slurm cluster's running jobs
//   {webhooks}    webhook endpoints, their secrets, deliveries, the retry schedule and dead letters

/** The key builder; `prefix` isolates deployments (and tests) sharing one Redis. */
export function createKeys(prefix = 'fw:') {
  const t = (tenantId: string) => `${prefix}{t:${tenantId}}`;
  const l = (lineageId: string) => `${prefix}{l:${lineageId}}`;
  const g = (groupId: string) => `${prefix}{g:${groupId}}`;
  const alerts = `${prefix}{alerts}`;
  const registry = `${prefix}{registry}`;
  const webhooks = `${prefix}{webhooks}`;
  const evaluations = `${prefix}{eval}`;
  return {
    prefix,
    tenant: {
      /** HASH: all-time totals, breakdowns, rolling-window sums, the watermark (see lua/apply-usage-12.lua). */
      totals: (id: string) => `${t(id)}:totals`,
      /** HASH: day index (days since epoch) → tera-operations. */
      days: (id: string) => `${t(id)}:days`,
      /** HASH: hour index (hours since epoch) → tera-operations, last 24 h only. */
      hours: (id: string) => `${t(id)}:hours`,
      /**
       * HASH: usage slice key (`<job key>` or `<job key>|<node>`) → its measured and allocated covered
       * time, what it holds, where it stands in the indexes, its tombstone (see `sliceField`), or a bare
       * tombstone `~<ms>` once pruned.
       */
      cover: (id: string) => `${t(id)}:cover`,
      /** ZSET: slice key → end of a covered range at most an hour behind its latest (epoch ms), for idle pruning. */
      slices: (id: string) => `${t(id)}:slices`,
      /** HASH: job key → "<granularity>|<idle-index score>|<measuredGpuUs>,<allocatedGpuUs>": granularity 'w' whole, 'n' per node, 'g' per GPU; then the job's coverage. */
      granularity: (id: string) => `${t(id)}:gran`,
      /** ZSET: job key → end of a covered range at most an hour behind its latest (epoch ms), for idle pruning. */
      jobs: (id: string) => `${t(id)}:jobs`,
      /** ZSET: job key → tera-operations (top jobs for evidence). */
      jobOps: (id: string) => `${t(id)}:jobops`,
      /** HASH: lineage id → tera-operations this tenant put into it. */
      lineages: (id: string) => `${t(id)}:lineages`,
      /**
       * ZSET: the slices holding H100-equivalents → end of a counted interval on controlled Tier 1
       * hardware at most a quarter of the active window behind their latest (ms).
       */
      active: (id: string) => `${t(id)}:active`,
      /**
       * HASH: job key → "measuredGpuUs,allocatedGpuUs" of jobs pruned while among the top jobs (a live
       * job's coverage is the third part of its granularity field).
       */
      coverage: (id: string) => `${t(id)}:coverage`,
      /** ZSET: pruned slices' keys → their tombstone (epoch ms); tombstones beyond the absolute age bound are dropped. */
      tombs: (id: string) => `${t(id)}:tombs`,
      /** ZSET: JSON conflict records → the report's end (epoch ms), the latest CONFLICTS_KEPT (evidence). */
      conflicts: (id: string) => `${t(id)}:conflicts`,
      /** HASH: reports the books refused, each once: "job|node|start|end|kind" → "reason,endMs,gpuUs" (statements' refused time). */
      refused: (id: string) => `${t(id)}:refused`,
      /** STRING: the tenant's KYC record (JSON, contracts' tenant schema). */
      kyc: (id: string) => `${t(id)}:kyc`,
      /** STRING: id of the group of linked tenants this tenant belongs to. */
      group: (id: string) => `${t(id)}:group`,
    },
    lineage: {
      /** STRING: the lineage record (JSON, contracts' lineage schema). */
      record: (id: string) => `${l(id)}:record`,
      /** SET: tenants that put operations into this lineage. */
      tenants: (id: string) => `${l(id)}:tenants`,
      /**
       * STRING: an upper bound of the lineage's own tera-operations, raised before each apply by the
       * whole intervals of its records; redelivery can only make it larger. A cheap pre-filter: a
       * lineage whose bound is below the lowest alert level needs no exact read.
       */
      upperBound: (id: string) => `${l(id)}:ub`,
      /** HASH: parent lineage id → JSON evidence of how the link was found (checkpoint or declared). */
      links: (id: string) => `${l(id)}:links`,
      /** SET: lineages whose parentId is this lineage (re-evaluated when it grows). */
      children: (id: string) => `${l(id)}:children`,
    },
    checkpoint: {
      /** HASH: lineage, tenant — the first lineage that wrote this checkpoint (checkpointOut). */
      writer: (checkpoint: string) => `${prefix}{ck:${checkpoint}}:writer`,
      /** HASH: lineage → tenant, lineages that read the checkpoint before its writer was seen. */
      readers: (checkpoint: string) => `${prefix}{ck:${checkpoint}}:readers`,
    },
    group: {
      /** SET: member tenant ids. */
      members: (id: string) => `${g(id)}:members`,
    },
    alerts: {
      /** STRING: one alert (JSON), created once. */
      record: (alertId: string) => `${alerts}:a:${alertId}`,
      /** STREAM: alert ids to deliver (the outbox the notifier reads). */
      outbox: `${alerts}:outbox`,
      /** ZSET: alert id → raisedAt (ms), for listing. */
      index: `${alerts}:index`,
      /** HASH: channel → 'done' | 'dead', how far the notifier got with one outbox entry (deleted when all are). */
      channels: (entryId: string) => `${alerts}:ch:${entryId}`,
      /** SET: ids of the alerts of one case (rule + scope + subject), written by the notifier. */
      caseAlerts: (caseId: string) => `${alerts}:case:${caseId}:alerts`,
      /** HASH: a case as sent to Alertmanager: rule, scope, subject, last labels, failures, rejected. */
      amCase: (caseId: string) => `${alerts}:am:${caseId}`,
      /** ZSET: case id → when it is next (re-)sent to Alertmanager (ms); claimed cases sit at their lease end. */
      amSchedule: `${alerts}:am:schedule`,
      /** LIST: the notifier's dead letters of the Kafka and Alertmanager channels (JSON), newest first, capped. */
      dead: `${alerts}:dead`,
      /** ZSET: outbox entry id → when the channel first held it (ms): entries a channel waits out a failure with (settle-channel-3 removes them). */
      held: (channel: string) => `${alerts}:held:${channel}`,
      /** HASH: channel → why it last held entries ('auth', 'unavailable'). */
      holdReasons: `${alerts}:held`,
    },
    cases: {
      /** STRING: one case (JSON, contracts' case schema): every alert of one rule + scope + subject. */
      record: (caseId: string) => `${alerts}:c:${caseId}`,
      /** ZSET: case id → openedAt (ms), for listing and export; the base of the queue's index keys below. */
      index: `${alerts}:cases`,
      /**
       * HASH: case id → its index entry (JSON): the sorted sets, sets and counters it is in (see
       * case-index.ts). Those keys are `<index>:<suffix>`, written only by lua/includes/case-index.lua.
       */
      entries: `${alerts}:cases:ix`,
      /** HASH: counters of the queue: `s:<status>`, `a:<severity>` (active), `unassigned` (active). */
      counts: `${alerts}:cases:n`,
      /** STRING: the version of the queue indexes the store was last migrated to (see case-index.ts). */
      indexed: `${alerts}:cases:indexed`,
    },
    registry: {
      /** ZSET (score 0): every registered tenant id, for lexicographic listing. */
      tenants: `${registry}:tenants`,
      /** ZSET (score 0): every registered lineage id. */
      lineages: `${registry}:lineages`,
      /** STREAM: registry changes { tenantId, groups } / { lineageId } for re-evaluation without telemetry. */
      changes: `${registry}:changes`,
      /** STRING: a token that changes on every registry write, so readers can cache records. */
      version: `${registry}:version`,
      /** SET: tenants sharing one linking identifier, e.g. kind `paymentFingerprint` (names by `nameKey`). */
      identifier: (kind: string, value: string) => `${registry}:ident:${kind}:${value}`,
      /** Prefix of every identifier set, for `rebuildLinks`. */
      identifiers: `${registry}:ident:`,
      /** STRING: the `LINK_RULE_VERSION` the identifier index and groups were built with. */
      linksVersion: `${registry}:links-version`,
      /** STRING: the sha256 of the screening list every tenant was last screened against. */
      screened: `${registry}:screened`,
      /** STRING (with expiry): the API replica screening every tenant against a new list. */
      screeningLease: `${registry}:screening-lease`,
    },
    collector: {
      /** HASH: job id → the Slurm poller's mark of that job of the cluster (JSON: end of what was produced, final or not, GPUs per node). */
      slurmMarks: (cluster: string) => `${prefix}{c:${cluster}}:slurm-marks`,
      /** HASH of one slurmrestd endpoint: `at` → time (epoch ms) of its last successful poll, `clusters` → JSON list of the clusters it listed. */
      slurmPolled: (endpoint: string) => `${prefix}slurm-polled:${endpoint}`,
    },
    webhooks: {
      /** STRING: one endpoint (JSON, without its secrets). */
      endpoint: (id: string) => `${webhooks}:ep:${id}`,
      /** STRING: an endpoint's signing secrets (JSON array, newest first; rotated ones carry expiresAt). */
      secrets: (id: string) => `${webhooks}:secrets:${id}`,
      /** ZSET: endpoint id → createdAt (ms), for listing. */
      endpoints: `${webhooks}:endpoints`,
      /** HASH: endpoint id → when its current run of failures began (ms); absent when healthy. */
      failing: `${webhooks}:failing`,
      /** HASH: one delivery (one message to one endpoint) and its state. */
      delivery: (id: string) => `${webhooks}:dl:${id}`,
      /** LIST: a delivery's attempts (JSON), oldest first, capped. */
      attempts: (id: string) => `${webhooks}:dl:${id}:attempts`,
      /** ZSET: delivery id → when it is due (ms); claimed deliveries are pushed to the end of their lease. */
      schedule: `${webhooks}:schedule`,
      /** ZSET: delivery id → when it was dead-lettered (ms). */
      dead: `${webhooks}:dead`,
      /** ZSET: delivery id → createdAt (ms): an endpoint's recent deliveries, capped. */
      history: (endpointId: string) => `${webhooks}:history:${endpointId}`,
    },
    audit: {
      /** STREAM: the append-only, hash-chained audit log: sealed entries only (see audit-chain.ts, audit-sealer.ts). */
      log: `${alerts}:audit`,
      /** STRING: "<seq> <hash>" of the newest sealed entry; only the sealer writes it. */
      head: `${alerts}:audit:head`,
      /** STREAM: entries written with their change, not yet sealed into the chain (no seq, prev, hash). */
      unsealed: `${alerts}:audit:unsealed`,
      /** HASH: intent id → JSON of a change made in another slot, recorded before it, until its entry is confirmed. */
      intents: `${alerts}:audit:intents`,
      /** STRING: the sealer's lease (owner token, with an expiry): one sealer at a time. */
      sealer: `${alerts}:audit:sealer`,
      /** STRING: "<seq> <hash> <kid> <mac>" of the last entry retention trimmed (verify checks the oldest entry against it). */
      floor: `${alerts}:audit:floor`,
      /** STREAM: sealed entries waiting to be published to Kafka (compliance.audit.v1); removed once the broker has them. */
      outbox: `${alerts}:audit:outbox`,
      /** Prefix of the per-case indexes of sealed entries below (the sealing script derives them from it). */
      cases: `${alerts}:audit:case`,
      /** ZSET: sealed entry id → seq, every sealed entry of one case (object `case:<id>`), written by the sealer. */
      caseEntries: (caseId: string) => `${alerts}:audit:case:${caseId}`,
      /** STRING: set once the per-case indexes hold the entries sealed before they existed. */
      casesIndexed: `${alerts}:audit:case-indexed`,
    },
    evaluations: {
      /** ZSET: subject (`t:<tenant>`, `l:<lineage>`, `g:<group>`) → when its latest evaluation was asked for (Redis time, µs). */
      pending: `${evaluations}:pending`,
    },
  };
}

export type Keys = ReturnType<typeof createKeys>;
