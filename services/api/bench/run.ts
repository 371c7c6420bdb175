// `pnpm bench:api [--tenants N] [--cases N] [--requests N] [--exports N] [--keep]`
// Measures the case queue at scale over HTTP, in one run on this machine: it writes N tenants' KYC
// records and M cases (each raised as the ingest raises it, some then assigned, acknowledged,
// commented on or resolved as analysts do) through the store's own write paths, pipelined; starts the
// API as production runs it (services/api/dist/main.js); then times, one request at a time, p50 and
// p99 of: the queue (default, a filter matching thousands, one analyst's cases), a case page, and
// the full export. Two references in the same run: (ceiling) GET /healthz, the API's fixed cost of
// one HTTP round trip; (naive) what GET /v1/cases did before the indexes: read and parse every case,
// filter and sort in the process (the old code also stopped at 20,000 cases; this one reads them all).
// Prints figures; asserts nothing.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { alertId, caseId, isClosed, SEVERITIES, type Alert, type Case, type Severity } from '@flopwatch/contracts';
import { ensureInfra } from '@flopwatch/local';
import { createStore, purgePrefix } from '@flopwatch/store';
import { hashKey } from '../src/auth.js';

const { values: args } = parseArgs({
  options: {
    tenants: { type: 'string', default: '100000' },
    cases: { type: 'string', default: '50000' },
    requests: { type: 'string', default: '300' },
    exports: { type: 'string', default: '5' },
    keep: { type: 'boolean', default: false },
  },
});
const TENANTS = Number(args.tenants);
const CASES = Math.min(Number(args.cases), TENANTS);
const REQUESTS = Number(args.requests);
const EXPORTS = Number(args.exports);
const run = `bench-api-${Date.now().toString(36)}`;
const prefix = `${run}:`;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const say = (line: string) => console.log(`[bench] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NOW = Date.now();
const DAY = 86_400_000;
const KEY = `bench-${run}`;
const COUNTRIES = ['US', 'DE', 'JP', 'SG', 'CN', 'AE', 'IN', 'BR'];
const ANALYSTS = ['ana', 'ben', 'chen', 'dara', 'eli'];

const tenantId = (i: number) => `tn-${String(i).padStart(6, '0')}`;

function tenantRecord(i: number) {
  return {
    id: tenantId(i), legalName: `Tenant ${i} Ltd`, hqCountry: COUNTRIES[i % COUNTRIES.length]!, ultimateParent: null, beneficialOwners: [],
    identifiers: { paymentFingerprints: [`card-${i}`], contactDomains: [] }, kycStatus: i % 3 === 0 ? 'pending' : 'verified',
    validatedEndUser: false, entityListMatch: false, notes: '',
  };
}

/** The alert that opens case `i`: a tenant-approach level of tenant i, raised over the last 90 days. */
function alertOf(i: number): Alert {
  const subject = tenantId(i);
  const severity: Severity = (['low', 'medium', 'high', 'critical'] as const)[i % 4]!;
  const level = [0.25, 0.5, 0.8, 1][i % 4]!;
  const raisedAt = new Date(NOW - 90 * DAY + Math.floor((i / CASES) * 90 * DAY)).toISOString();
  return {
    id: alertId({ rule: 'tenant-approach', scope: 'tenant', subject, level }),
    rule: 'tenant-approach', scope: 'tenant', subject, level, threshold: 1e26, observedOperations: level * 1e26,
    projectedCrossingAt: i % 5 === 0 ? new Date(NOW + ((i * 7919) % 400) * DAY).toISOString() : null,
    severity,
    kyc: { tenantId: subject, hqCountry: COUNTRIES[i % COUNTRIES.length]!, ownerCountries: [], tier: 3, kycStatus: 'pending', trusted: false, reasons: ['headquarters in a Tier 3 country'] },
    hardware: { countries: ['US'], tiers: [1], models: ['nvidia-h100-sxm5-80gb'] },
    evidence: { topJobs: [{ tenantId: subject, jobId: `cluster-a/${i}`, operations: level * 1e26 }], contributingTenants: [{ tenantId: subject, operations: level * 1e26 }] },
    policyVersion: 'bench-1', status: 'open',
    history: [{ at: raisedAt, action: 'raise', from: null, to: 'open', actor: 'flopwatch-ingest' }],
    raisedAt,
  };
}

/** Runs `fn` for 0..n-1, `width` at a time (pipelined by ioredis), printing progress. */
async function inBatches(label: string, n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let nextReport = n / 10;
  for (let i = 0; i < n; i += width) {
    await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => fn(i + j)));
    if (i + width >= nextReport) {
      say(`  ${label}: ${Math.min(i + width, n).toLocaleString('en-US')} of ${n.toLocaleString('en-US')}`);
      nextReport += n / 10;
    }
  }
  return (performance.now() - started) / 1000;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Timing {
  ms: number[];
  bytes: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
function line(label: string, t: Timing): string {
  const s = [...t.ms].sort((a, b) => a - b);
  return `  ${label.padEnd(46)} p50 ${fmt(pct(s, 0.5)).padStart(7)} ms   p99 ${fmt(pct(s, 0.99)).padStart(7)} ms   (${s.length} requests, ${(t.bytes / s.length / 1024).toFixed(1)} KiB each)`;
}

/** Times GET `path()` `n` times, one at a time, to the last byte of the body. */
async function time(base: string, n: number, path: (i: number) => string): Promise<Timing> {
  const out: Timing = { ms: [], bytes: 0 };
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const res = await fetch(`${base}${path(i)}`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = await res.arrayBuffer();
    out.ms.push(performance.now() - started);
    out.bytes += body.byteLength;
    if (res.status !== 200) throw new Error(`GET ${path(i)} answered ${res.status}: ${Buffer.from(body).toString('utf8').slice(0, 300)}`);
  }
  return out;
}

/** What GET /v1/cases did before the indexes: every case read and parsed, filtered and sorted here. */
async function naiveQueue(redis: Redis, index: string, record: (id: string) => string): Promise<number> {
  const started = performance.now();
  const active: Case[] = [];
  for (let offset = 0; ; offset += 200) {
    const ids = await redis.zrange(index, offset, offset + 199);
    if (ids.length === 0) break;
    for (const raw of await redis.mget(...ids.map(record))) {
      if (!raw) continue;
      const c = JSON.parse(raw) as Case;
      if (!isClosed(c.status)) active.push(c);
    }
  }
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  const crossing = (c: Case) => (c.projectedCrossingAt ? Date.parse(c.projectedCrossingAt) : Infinity);
  active.sort((a, b) => rank(b.severity) - rank(a.severity) || crossing(a) - crossing(b) || Date.parse(a.openedAt) - Date.parse(b.openedAt));
  JSON.stringify(active.slice(0, 200));
  return performance.now() - started;
}

async function main(): Promise<void> {
  const infra = await ensureInfra(process.env, (l) => say(l));
  // The API runs from its compiled files, as in production: `pnpm build` first, as a command.
  execFileSync(process.execPath, [`${repoRoot}scripts/build.mjs`], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  const redis = new Redis(infra.redisUrl, { enableAutoPipelining: true });
  const store = createStore({ redis, prefix });
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?';
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.version}, Redis ${redisVersion}`;
  const loadAtStart = loadavg()[0]!;
  say(`${machine}; load average ${loadAtStart.toFixed(2)}`);

  say(`writing ${TENANTS.toLocaleString('en-US')} tenants' KYC records (registry.putTenant) …`);
  const tenantSeconds = await inBatches('tenants', TENANTS, 500, (i) => store.registry.putTenant(tenantRecord(i)));
  say(`raising ${CASES.toLocaleString('en-US')} cases (alerts.raise, as the ingest does) …`);
  const caseSeconds = await inBatches('cases', CASES, 500, (i) => store.alerts.raise(alertOf(i)));
  // Analysts' work: a third assigned, a fifth acknowledged, a tenth resolved, one in twenty commented on.
  say('assigning, acknowledging, resolving and commenting on some (casebook.update) …');
  const workSeconds = await inBatches('analyst changes', CASES, 500, async (i) => {
    if (i % 3 !== 0 && i % 5 !== 0 && i % 10 !== 0 && i % 20 !== 0) return;
    await store.casebook.update(caseId(alertOf(i)), (c) => {
      const at = new Date(NOW).toISOString();
      const status = i % 10 === 0 ? 'resolved' : i % 5 === 0 ? 'acknowledged' : c.status;
      const comments = i % 20 === 0 ? [...c.comments, { id: `c-${i}`, at, actor: 'ana', text: 'looked at the jobs' }] : c.comments;
      const next: Case = { ...c, status, assignee: i % 3 === 0 ? ANALYSTS[i % ANALYSTS.length]! : c.assignee, comments, updatedAt: at };
      return { next, audit: { actor: 'ana', action: 'case.bench', before: null, after: null } };
    });
  });

  const port = await freePort();
  const telemetryTopic = `${run}.telemetry`;
  say(`starting the API (services/api/dist/main.js) on :${port} …`);
  const api = spawn(process.execPath, ['services/api/dist/main.js'], {
    cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env, LOG_LEVEL: 'warn', API_HOST: '127.0.0.1', API_PORT: String(port), REDIS_URL: infra.redisUrl, REDIS_PREFIX: prefix,
      KAFKA_BROKERS: infra.kafkaBrokers.join(','), TELEMETRY_TOPIC: telemetryTopic, TOPIC_PARTITIONS: '1',
      API_KEYS: `analyst:bench:${hashKey(KEY)}`, RATE_LIMIT_MAX: '1000000',
    },
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (api.exitCode !== null) throw new Error(`the API exited with ${api.exitCode}`);
      if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
      if (i > 600) throw new Error('the API did not start within a minute');
      await sleep(100);
    }
    // The sealer seals what the writes above appended, before anything is timed.
    const unsealedKey = `${prefix}{alerts}:audit:unsealed`;
    while ((await redis.xlen(unsealedKey)) > 0) await sleep(250);
    say('the API is up and the audit log sealed; timing …');

    const ids = Array.from({ length: CASES }, (_, i) => caseId(alertOf(i)));
    const pick = (i: number) => ids[(i * 7919) % ids.length]!;
    await time(base, 20, () => '/v1/cases'); // warm-up: connections, JIT
    const ceiling = await time(base, REQUESTS, () => '/healthz');
    const queue = await time(base, REQUESTS, () => '/v1/cases');
    const filtered = await time(base, REQUESTS, () => '/v1/cases?severity=high&sort=opened&limit=50');
    const mine = await time(base, REQUESTS, (i) => `/v1/cases?assignee=${ANALYSTS[i % ANALYSTS.length]}&limit=50`);
    const overdue = await time(base, REQUESTS, () => '/v1/cases?overdue=true&limit=50');
    const page = await time(base, REQUESTS, (i) => `/v1/cases/${pick(i)}`);
    const exported = await time(base, EXPORTS, () => '/v1/cases/export');
    const naive = { ms: [] as number[], bytes: 0 };
    for (let i = 0; i < EXPORTS; i++) naive.ms.push(await naiveQueue(redis, `${prefix}{alerts}:cases`, (id) => `${prefix}{alerts}:c:${id}`));

    const entries = await redis.memory('USAGE', `${prefix}{alerts}:cases:ix`) ?? 0;
    const orders = await Promise.all(['p', 'o', 'u'].flatMap((s) => ['all', 'active', 'closed'].map((g) => redis.memory('USAGE', `${prefix}{alerts}:cases:${s}:${g}`))));
    const exportSorted = [...exported.ms].sort((a, b) => a - b);
    console.log(`\nflopwatch API benchmark — ${TENANTS.toLocaleString('en-US')} tenants, ${CASES.toLocaleString('en-US')} cases, ${new Date().toISOString()}`);
    console.log(`  machine: ${machine}; load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at the end`);
    console.log(`  state built through the store: tenants ${tenantSeconds.toFixed(1)} s, cases ${caseSeconds.toFixed(1)} s (${Math.round(CASES / caseSeconds).toLocaleString('en-US')}/s), analyst changes ${workSeconds.toFixed(1)} s`);
    console.log(line('(ceiling) GET /healthz', ceiling));
    console.log(line('GET /v1/cases (active, by priority, 200 rows)', queue));
    console.log(line('GET /v1/cases?severity=high&sort=opened&limit=50', filtered));
    console.log(line('GET /v1/cases?assignee=<analyst>&limit=50', mine));
    console.log(line('GET /v1/cases?overdue=true&limit=50', overdue));
    console.log(line('GET /v1/cases/:id (a case page)', page));
    console.log(`  GET /v1/cases/export (every case, NDJSON)        p50 ${fmt(pct(exportSorted, 0.5))} ms, slowest ${fmt(exportSorted.at(-1)!)} ms of ${EXPORTS}; ${(exported.bytes / EXPORTS / 1048576).toFixed(1)} MiB, ${Math.round(CASES / (pct(exportSorted, 0.5) / 1000)).toLocaleString('en-US')} cases/s`);
    const naiveSorted = [...naive.ms].sort((a, b) => a - b);
    console.log(`  (naive) every case read, parsed, sorted        p50 ${fmt(pct(naiveSorted, 0.5))} ms, slowest ${fmt(naiveSorted.at(-1)!)} ms of ${EXPORTS} (in this process, no HTTP)`);
    console.log(`  index memory: entries ${(entries / 1048576).toFixed(1)} MiB, queue orders ${(orders.reduce<number>((a, b) => a + (b ?? 0), 0) / 1048576).toFixed(1)} MiB (${Math.round((entries + orders.reduce<number>((a, b) => a + (b ?? 0), 0)) / CASES)} bytes a case, without the filter sets)`);
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => (api.exitCode === null ? api.once('exit', r) : r(null)));
    if (!args.keep) {
      await purgePrefix(redis, prefix);
      const kafka = new Kafka({ clientId: run, brokers: infra.kafkaBrokers, logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [telemetryTopic] }).catch(() => {});
      await admin.disconnect();
    }
    redis.disconnect();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
