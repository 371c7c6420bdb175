// The dashboards and operator rules against a real Prometheus scraping real services: after a short
// scenario (usage through a real ingest, one invalid message, one redelivery), every panel query and
// every rule expression must parse and return data; promtool must accept the rules and each exposition.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, freePort, freshPrefix, freshTopics, kafkaBrokers, redisUrl, testKafka, testRedis, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
import { requireBinary, startPrometheus, type TestPrometheus } from './prometheus.js';
import { ROOT, serviceExists, startService, type RunningService, type ServiceName } from './services.js';

const RULES_DIR = `${ROOT}deploy/prometheus/rules`;
const DASHBOARDS_DIR = `${ROOT}deploy/grafana/dashboards`;
const ruleFiles = readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml')).map((f) => `${RULES_DIR}/${f}`);

interface Panel {
  id: number;
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
  fieldConfig?: { overrides?: { matcher: { options: string }; properties: { id: string; value: unknown }[] }[] };
}
interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  includeAll?: boolean;
  allValue?: string;
}
interface Dashboard {
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
  __inputs?: { name: string; type: string; pluginId: string }[];
}
const dashboards = readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ...(JSON.parse(readFileSync(`${DASHBOARDS_DIR}/${f}`, 'utf8')) as Dashboard) }));
const panelQueries = dashboards.flatMap((d) => d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.title} / ${p.title} / ${t.refId}`, expr: t.expr }))));

// Grafana's interval variables, as Grafana would expand them for a 1 s scrape over a short range, and the
// dashboards' own variables at their default "All" (each variable's allValue, `.*`).
const ALL_VALUES = new Map(dashboards.flatMap((d) => d.templating.list.filter((v) => v.includeAll).map((v) => [v.name, v.allValue ?? '.*'] as const)));
const expandGrafana = (expr: string) =>
  [...ALL_VALUES].reduce(
    (e, [name, all]) => e.replaceAll(`\${${name}}`, all).replace(new RegExp(`\\$${name}\\b`, 'g'), all),
    expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '5m'),
  );
// A variable's `label_values(selector, label)` as the PromQL Grafana's data source asks for it.
const labelValuesQuery = (q: string): { expr: string; label: string } => {
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q.trim());
  if (!m) throw new Error(`not a label_values() query: ${q}`);
  return { expr: `group by (${m[2]}) (${m[1]})`, label: m[2]! };
};
const variableQueries = dashboards.flatMap((d) =>
  d.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `${d.title} / $${v.name}`, ...labelValuesQuery(typeof v.query === 'string' ? v.query : v.query.query) })),
);

// An alert expression returns series only while it fires. `op bool N` keeps every series (0 or 1),
// so the measure behind each comparison is shown to exist without the alert having to fire.
const withBool = (expr: string) => expr.replace(/(==|!=|>=|<=|>|<)(?!\s*bool)(\s*)(-?\d)/g, '$1 bool$2$3');

// Series the scenario cannot produce yet: webhook attempts need a registered endpoint and a running
// notifier; channel dead letters a Kafka or Alertmanager that refuses alerts.
const NEEDS_WEBHOOK_ENDPOINT = /^flopwatch_(webhook_(attempts|deliveries|dead_letters|attempt_duration)|notifier_dead_letters)/;

// prom-client's default metrics name three gauges `nodejs_active_*_total` (kept by prom-client for
// compatibility); promtool flags them. Every other lint finding fails the test.
const PROM_CLIENT_DEFAULTS = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

describe('observability: dashboards and rules against a real Prometheus', () => {
  const running = new Map<ServiceName, RunningService>();
  let standIn: Server | undefined;
  let mappingDir: string | undefined;

  /**
   * The collector's upstreams, stood in by one local HTTP server: a dcgm-exporter page (one GPU of a
   * mapped pod, one idle) and a slurmrestd v0.0.38 job listing (one running GPU job); plus an exporter
   * that is down. Returns the collector's environment.
   */
  async function collectorStandIns(): Promise<Record<string, string>> {
    const labels = (gpu: number) => `gpu="${gpu}",UUID="GPU-obs-${gpu}",device="nvidia${gpu}",modelName="NVIDIA H100 80GB HBM3",Hostname="obs-node",DCGM_FI_DRIVER_VERSION="535.104.05"`;
    const page = [
      '# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge',
      `DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${labels(0)},container="trainer",namespace="obs-team",pod="obs-pod-0"} 0.42`,
      `DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{${labels(1)}} 0`,
      '',
    ].join('\n');
    const jobs = { meta: {}, errors: [], jobs: [{ job_id: 7, account: 'obs-account', cluster: 'obs-cluster', partition: 'gpu', job_state: 'RUNNING', start_time: Math.floor(Date.now() / 1000) - 60, nodes: 'obs-node', gres_detail: ['gpu:h100:2(IDX:2-3)'], tres_alloc_str: 'cpu=8,node=1,billing=8' }] };
    standIn = createServer((req, res) => {
      if (req.url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain' }).end(page);
      if (req.url === '/slurm/v0.0.38/jobs') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jobs));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => standIn!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(standIn.address() as { port: number }).port}`;
    mappingDir = mkdtempSync(join(tmpdir(), 'flopwatch-obs-collector-'));
    writeFileSync(join(mappingDir, 'tenants.yaml'), 'namespaces: { obs-team: obs-tenant }\naccounts: { obs-account: obs-tenant }\n');
    writeFileSync(join(mappingDir, 'slurm.yaml'), 'partitions: { gpu: { accelerator: nvidia-h100-sxm5-80gb } }\nclusters: { obs-cluster: { country: US } }\n');
    return {
      DCGM_TARGETS: `${base}/metrics,http://127.0.0.1:${await freePort()}/metrics`,
      DCGM_SCRAPE_INTERVAL: '1s',
      DCGM_REPORT_PERIOD: '2s',
      DCGM_SCRAPE_TIMEOUT: '500ms',
      DCGM_CLUSTER: 'obs-cluster',
      SLURMRESTD_URL: base,
      SLURMRESTD_TOKEN: 'obs-token',
      SLURM_POLL_INTERVAL: '1s',
      TENANT_MAPPING_FILE: join(mappingDir, 'tenants.yaml'),
      SLURM_MAPPING_FILE: join(mappingDir, 'slurm.yaml'),
      KAFKA_CLIENT_ID: uniqueId('obs-collector'),
    };
  }
  let prometheus: TestPrometheus;
  const prefix = freshPrefix('obs');

  /** Whether the scenario makes every series the expression reads exist. */
  function expectsData(expr: string): boolean {
    const names = expr.match(/\b(flopwatch_[a-z0-9_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g) ?? [];
    return names.every((n) => {
      if (n.startsWith('flopwatch_api_')) return running.has('api');
      if (NEEDS_WEBHOOK_ENDPOINT.test(n)) return false;
      if (n.startsWith('flopwatch_notifier_') || n.startsWith('flopwatch_webhook_')) return running.has('notifier');
      if (n.startsWith('flopwatch_collector_')) return running.has('collector');
      return true;
    });
  }

  beforeAll(async () => {
    requireBinary('prometheus');
    requireBinary('promtool');
    const [telemetry, slurm, dlq, alerts] = await freshTopics(['obs-telemetry', 'obs-slurm', 'obs-dlq', 'obs-alerts']);
    const env = {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      REDIS_URL: redisUrl(),
      REDIS_PREFIX: prefix,
      TELEMETRY_TOPIC: telemetry,
      SLURM_TOPIC: slurm,
      DLQ_TOPIC: dlq,
      ALERTS_TOPIC: alerts,
      TOPIC_PARTITIONS: '3',
      INGEST_GROUP_ID: uniqueId('obs-ingest'),
      OUTBOX_GROUP: uniqueId('obs-notifier'),
      AUDIT_TOPIC: uniqueId('obs-audit'),
    };
    for (const name of ['ingest', 'api', 'notifier'] as const) {
      // The API screens tenants against a screening list (the test fixture in trade.gov's CSV format).
      const own: Record<string, string> = name === 'api' ? { SCREENING_LIST_FILE: new URL('../../services/api/test/fixtures/csl/consolidated.csv', import.meta.url).pathname } : {};
      if (serviceExists(name)) running.set(name, await startService(name, { ...env, ...own }));
    }
    running.set('collector', await startService('collector', { ...env, ...(await collectorStandIns()) }));
    prometheus = await startPrometheus([...running.values()].map((s) => ({ job: `flopwatch-${s.name}`, address: s.address })), ruleFiles);

    // The scenario: one untrusted (never registered) tenant runs a million H100s for 24 hours on
    // US hardware, about a third of 10^26 operations: alerts at the lower levels, a projected crossing.
    const tenantId = uniqueId('tenant');
    const lineageId = `${tenantId}/model`;
    const start = Date.now() - 25 * 3_600_000;
    const events = Array.from({ length: 24 }, (_, i) => usageEvent({ tenantId, jobId: 'big-run', startMs: start + i * 3_600_000, seconds: 3600, gpus: 1_000_000, lineageId }));
    // Prometheus must have scraped the ingest once before the scenario: the dead-letter counters then
    // go from 0 to 1 in its samples, which increase() (FlopwatchUnknownAccelerator) needs to see.
    await waitFor(async () => (await prometheus.query('flopwatch_ingest_dead_lettered_total{reason="unknown_accelerator"} == 0')).result.length > 0, { timeoutMs: 30_000, intervalMs: 250, what: 'a first scrape of the ingest' });
    const producer = testKafka().producer();
    await producer.connect();
    const messages = [...events, events[0]].map((e) => ({ key: tenantId, value: JSON.stringify(e) }));
    // A model the catalog lacks: dead-lettered as unknown_accelerator, and the operator alert fires.
    const unknownModel = usageEvent({ tenantId, jobId: 'new-hardware', startMs: start, seconds: 3600, model: 'NVIDIA Z9000 SXM9' });
    // A report older than the absolute age bound (the default pack's 400 days): interval_too_late, and its operator alert fires.
    const ancient = usageEvent({ tenantId, jobId: 'ancient-run', startMs: start - 401 * 86_400_000, seconds: 3600 });
    await producer.send({ topic: telemetry, messages: [...messages, { key: tenantId, value: '{"not":"a cloudevent"' }, { key: tenantId, value: JSON.stringify(unknownModel) }, { key: tenantId, value: JSON.stringify(ancient) }] });
    await producer.disconnect();

    await waitFor(async () => (await prometheus.query('flopwatch_subject_threshold_ratio')).result.length > 0, { timeoutMs: 60_000, intervalMs: 500, what: 'subject gauges in Prometheus' });
    await waitFor(async () => (await prometheus.query('flopwatch_ingest_dead_lettered_total{reason="not_json"} > 0')).result.length > 0, { timeoutMs: 30_000, intervalMs: 500, what: 'dead letters in Prometheus' });
    await waitFor(async () => (await prometheus.query('flopwatch_ingest_dead_lettered_total{reason="unknown_accelerator"} > 0')).result.length > 0, { timeoutMs: 30_000, intervalMs: 500, what: 'the unknown accelerator dead letter in Prometheus' });
    for (const source of ['dcgm', 'slurm']) {
      await waitFor(async () => (await prometheus.query(`flopwatch_collector_events_produced_total{source="${source}"} > 0`)).result.length > 0, { timeoutMs: 30_000, intervalMs: 500, what: `collector ${source} events in Prometheus` });
    }
    // Enough samples after the scenario for rate() and histogram_quantile() over the panels' windows.
    await new Promise((r) => setTimeout(r, 6_000));
  }, 180_000);

  afterAll(async () => {
    await prometheus?.close();
    await Promise.all([...running.values()].map((s) => s.close()));
    await new Promise((r) => standIn?.close(r));
    if (mappingDir) rmSync(mappingDir, { recursive: true, force: true });
    const redis = testRedis();
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }, 60_000);

  it('covers the services that exist so far', () => {
    expect([...running.keys()]).toContain('ingest');
  });

  it.each(panelQueries)('panel query parses and returns data: $where', async ({ expr }) => {
    const { result } = await prometheus.query(expandGrafana(expr));
    if (expectsData(expr)) expect(result.length, `no data for ${expr}`).toBeGreaterThan(0);
  });

  it.each(variableQueries)('template variable lists values: $where', async ({ expr, label }) => {
    const { result } = await prometheus.query(expandGrafana(expr));
    expect(result.length, expr).toBeGreaterThan(0);
    for (const r of result as { metric: Record<string, string> }[]) expect(r.metric[label]).toBeTruthy();
  });

  it('loads every rule, evaluates it without error, and each expression returns data', async () => {
    await waitFor(async () => {
      const groups = await ruleGroups();
      return groups.length > 0 && groups.every((g) => g.rules.every((r) => r.health === 'ok'));
    }, { timeoutMs: 20_000, intervalMs: 500, what: 'every rule evaluated with health ok' });
    const rules = (await ruleGroups()).flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      expect(rule.lastError ?? '', rule.name).toBe('');
      const { result } = await prometheus.query(withBool(rule.query));
      if (expectsData(rule.query)) expect(result.length, `no data for rule ${rule.name}: ${withBool(rule.query)}`).toBeGreaterThan(0);
    }
  });

  it('fires FlopwatchUnknownAccelerator for the event naming a model the catalog lacks, telling the operator to replay', async () => {
    const alerts = await waitFor(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string; value: string }[] } };
      const firing = body.data.alerts.filter((a) => a.labels.alertname === 'FlopwatchUnknownAccelerator' && a.state === 'firing');
      return firing.length > 0 ? firing : null;
    }, { timeoutMs: 20_000, intervalMs: 500, what: 'FlopwatchUnknownAccelerator firing' });
    expect(alerts).toHaveLength(1);
    expect(Number(alerts[0]!.value)).toBeGreaterThan(0);
    expect(alerts[0]!.annotations.description).toContain('pnpm dlq:replay --reason unknown_accelerator');
    // Nothing else was dead-lettered as unknown_accelerator: the not_json message has its own reason.
    const { result } = await prometheus.query('sum(flopwatch_ingest_dead_lettered_total{reason="unknown_accelerator"})');
    expect((result[0] as { value: [number, string] }).value[1]).toBe('1');
  });

  it('fires FlopwatchIntervalTooLate for the report beyond the absolute age bound, telling the operator how to recover', async () => {
    const alerts = await waitFor(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; annotations: Record<string, string>; state: string; value: string }[] } };
      const firing = body.data.alerts.filter((a) => a.labels.alertname === 'FlopwatchIntervalTooLate' && a.state === 'firing');
      return firing.length > 0 ? firing : null;
    }, { timeoutMs: 20_000, intervalMs: 500, what: 'FlopwatchIntervalTooLate firing' });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.annotations.description).toContain('pnpm dlq:replay --reason interval_too_late');
    const { result } = await prometheus.query('sum(flopwatch_ingest_dead_lettered_total{reason="interval_too_late"})');
    expect((result[0] as { value: [number, string] }).value[1]).toBe('1');
  });

  it('passes promtool check rules', () => {
    const check = spawnSync('promtool', ['check', 'rules', ...ruleFiles], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('passes promtool check metrics on every running service', async () => {
    for (const service of running.values()) {
      const exposition = await (await fetch(service.metricsUrl)).text();
      const check = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
      const problems = `${check.stdout}${check.stderr}`.split('\n').filter((line) => line.trim() !== '' && !PROM_CLIENT_DEFAULTS.test(line));
      expect(problems, service.name).toEqual([]);
      expect([0, 3], `promtool exit ${check.status}: ${check.stderr}`).toContain(check.status);
    }
  });

  async function ruleGroups(): Promise<{ rules: { name: string; query: string; health: string; lastError?: string }[] }[]> {
    const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; query: string; health: string; lastError?: string }[] }[] } };
    return body.data.groups;
  }
});

describe('dashboards are portable into an existing Grafana', () => {
  it.each(dashboards)('$file: every panel and query uses the ${datasource} variable, offered as an import input', (d) => {
    expect(d.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(d.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const text = JSON.stringify(d);
    expect(text).not.toContain('flopwatch-prometheus');
    for (const p of d.panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? '${datasource}', `${p.title} / ${t.refId}`).toBe('${datasource}');
    }
  });

  it('the compliance overview filters by tier, rule and subject, projects crossings, and links subjects to their console case', () => {
    const d = dashboards.find((x) => x.file === 'compliance-overview.json')!;
    expect(d.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['datasource', 'tier', 'rule', 'subject']));
    const subjectPanels = d.panels.filter((p) => (p.targets ?? []).some((t) => t.expr.includes('flopwatch_subject_')));
    expect(subjectPanels.length).toBeGreaterThanOrEqual(2);
    for (const p of subjectPanels) {
      for (const t of p.targets!) expect(t.expr, p.title).toMatch(/subject=~"\$subject"/);
      const links = p.fieldConfig?.overrides?.find((o) => o.matcher.options === 'subject')?.properties.find((x) => x.id === 'links')?.value as { url: string }[];
      expect(links?.[0]?.url, p.title).toBe('${console_url}/console/#/cases/${__data.fields.case}');
    }
    const projected = d.panels.find((p) => /projected crossings/i.test(p.title));
    expect(projected?.targets?.[0]?.expr).toContain('flopwatch_subject_projected_crossing_timestamp_seconds');
  });
});
