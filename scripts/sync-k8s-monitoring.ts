// `pnpm k8s:sync`: regenerates deploy/k8s/monitoring's copies of the operator rules (as a
// PrometheusRule) and of the Grafana dashboards (for the sidecar's ConfigMap) from their sources in
// deploy/prometheus/rules and deploy/grafana/dashboards. test/observability/deployment.test.ts fails
// when they differ.
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument, stringify } from 'yaml';

const root = fileURLToPath(new URL('../', import.meta.url));
const monitoring = `${root}deploy/k8s/monitoring/`;

const rules = parseDocument(readFileSync(`${root}deploy/prometheus/rules/flopwatch-operators.yml`, 'utf8')).toJS() as { groups: unknown[] };
const target = `${monitoring}prometheus-rule.yaml`;
const existing = readFileSync(target, 'utf8');
// Keep the file's head (comments, apiVersion, kind, metadata) as written; regenerate `spec`.
const head = existing.slice(0, existing.indexOf('\nspec:') + 1);
writeFileSync(target, `${head}${stringify({ spec: { groups: rules.groups } }, { lineWidth: 0 })}`);
console.log(`wrote ${target}`);

for (const file of readdirSync(`${root}deploy/grafana/dashboards`).filter((f) => f.endsWith('.json'))) {
  copyFileSync(`${root}deploy/grafana/dashboards/${file}`, `${monitoring}dashboards/${file}`);
  console.log(`wrote ${monitoring}dashboards/${file}`);
}
