// The dashboards and operator rules against a real Prometheus scraping real services: after a short
// scenario (usage through a real ingest, one invalid message, one redelivery), every panel query and
// every rule expression must parse and return data; promtool must accept the rules and each exposition.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPrefix, freshPrefix, freshTopics, kafkaBrokers, redisUrl, testKafka, testRedis, uniqueId, usageEvent, waitFor } from '@flopwatch/test-harness';
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

// Series the scenario cannot produce yet: webhook attempts need a registered endpoint and a running notifier.
const NEEDS_WEBHOOK_ENDPOINT = /^flopwatch_webhook_(attempts|deliveries|dead_letters|attempt_duration)/;

// prom-client's default metrics name three gauges `nodejs_active_*_total` (kept by prom-client for
// compatibility); promtool flags them. Every other lint finding fails the test.
const PROM_CLIENT_DEFAULTS = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;

describe('observability: dashboards and rules against a real Prometheus', () => {
  const running = new Map<ServiceName, RunningService>();
  let prometheus: TestPrometheus;
  const prefix = freshPrefix('obs');

  /** Whether the scenario makes every series the expression reads exist. */
  function expectsData(expr: string): boolean {
    const names = expr.match(/\b(flopwatch_[a-z0-9_]+|process_[a-z_]+|nodejs_[a-z0-9_]+)\b/g) ?? [];
    return names.every((n) => {
      if (n.startsWith('flopwatch_api_')) return running.has('api');
      if (NEEDS_WEBHOOK_ENDPOINT.test(n)) return false;
      if (n.startsWith('flopwatch_notifier_') || n.startsWith('flopwatch_webhook_')) return running.has('notifier');
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
    };
    for (const name of ['ingest', 'api', 'notifier'] as const) {
      if (serviceExists(name)) running.set(name, await startService(name, env));
    }
    prometheus = await startPrometheus([...running.values()].map((s) => ({ job: `flopwatch-${s.name}`, address: s.address })), ruleFiles);

    // The scenario: one untrusted (never registered) tenant runs a million H100s for 24 hours on
    // US hardware, about a third of 10^26 operations: alerts at the lower levels, a projected crossing.
    const tenantId = uniqueId('tenant');
    const lineageId = `${tenantId}/model`;
    const start = Date.now() - 25 * 3_600_000;
    const events = Array.from({ length: 24 }, (_, i) => usageEvent({ tenantId, jobId: 'big-run', startMs: start + i * 3_600_000, seconds: 3600, gpus: 1_000_000, lineageId }));
    const producer = testKafka().producer();
    await producer.connect();
    const messages = [...events, events[0]].map((e) => ({ key: tenantId, value: JSON.stringify(e) }));
    await producer.send({ topic: telemetry, messages: [...messages, { key: tenantId, value: '{"not":"a cloudevent"' }] });
    await producer.disconnect();

    await waitFor(async () => (await prometheus.query('flopwatch_subject_threshold_ratio')).result.length > 0, { timeoutMs: 60_000, intervalMs: 500, what: 'subject gauges in Prometheus' });
    await waitFor(async () => (await prometheus.query('flopwatch_ingest_dead_lettered_total')).result.length > 0, { timeoutMs: 30_000, intervalMs: 500, what: 'dead letters in Prometheus' });
    // Enough samples after the scenario for rate() and histogram_quantile() over the panels' windows.
    await new Promise((r) => setTimeout(r, 6_000));
  }, 180_000);

  afterAll(async () => {
    await prometheus?.close();
    await Promise.all([...running.values()].map((s) => s.close()));
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
