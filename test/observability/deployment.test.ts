// The deployment descriptors checked by real tools: docker-compose's own validation of the compose
// file, and kustomize's assembly of deploy/k8s with every object validated against the Kubernetes
// OpenAPI schemas (kubernetes-models).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { loadConfig } from '@flopwatch/runtime';
import { collectorConfigSchema } from '../../services/collector/src/config.js';
import { parseDnsTarget } from '../../services/collector/src/dns-sd.js';
import { loadSlurmMapping, loadTenantMapping } from '../../services/collector/src/mapping.js';
import { ROOT } from './services.js';

function requireTool(name: string, install: string): void {
  const probe = spawnSync(name, ['version'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`${name} is not installed: ${install}`);
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

type ComposeService = { image?: string; healthcheck?: unknown; environment?: Record<string, string | number>; volumes?: string[]; command?: string[]; depends_on?: Record<string, unknown> };

/** The compose file as docker-compose itself reads it (`config`: validated, interpolated, normalized). */
function composeServices(): Record<string, ComposeService> {
  requireTool('docker-compose', 'apt-get install -y docker-compose');
  // Debian's docker-compose (1.29) validates against the compose specification as it was before the
  // top-level `name` key; everything else in the file goes through its schema and interpolation.
  const dir = mkdtempSync(join(tmpdir(), 'flopwatch-compose-'));
  try {
    const file = join(dir, 'docker-compose.yml');
    writeFileSync(file, readFileSync(`${ROOT}docker-compose.yml`, 'utf8').replace(/^name: .*$/m, ''));
    const check = spawnSync('docker-compose', ['-f', file, '--project-directory', ROOT, 'config'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    return parseAllDocuments(check.stdout)[0]!.toJS().services as Record<string, ComposeService>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('docker-compose.yml', () => {
  it('is a valid compose file with every service health-checked', () => {
    const services = composeServices();
    expect(Object.keys(services).sort()).toEqual(['alertmanager', 'api', 'collector', 'dcgm-exporter', 'grafana', 'ingest', 'kafka', 'notifier', 'prometheus', 'redis']);
    for (const [name, s] of Object.entries(services)) expect(s.healthcheck, `${name} healthcheck`).toBeDefined();
    expect(services.alertmanager!.image).toMatch(/^prom\/alertmanager:v\d+\.\d+\.\d+$/);
    expect(services.notifier!.environment!.ALERTMANAGER_URL).toBe('http://alertmanager:9093');
  });

  it('runs the collector against the dcgm-exporter stand-ins, with settings the collector accepts', () => {
    const services = composeServices();
    const collector = services.collector!;
    const standIn = services['dcgm-exporter']!;
    // DCGM_DNS_SD names the stand-in service and the port it listens on.
    const env = Object.fromEntries(Object.entries(collector.environment!).map(([k, v]) => [k, String(v)]));
    const [target] = env.DCGM_DNS_SD!.split(',').map(parseDnsTarget);
    expect(target).toEqual({ name: 'dcgm-exporter', port: Number(String(standIn.environment!.DCGM_STAND_IN_LISTEN).split(':')[1]) });
    expect(collector.depends_on).toHaveProperty('dcgm-exporter');
    // The stand-in runs the repository's file on the Node release of the service images.
    expect(standIn.command).toEqual(['node', 'scripts/lib/dcgm-stand-in.ts']);
    expect(standIn.image).toBe(/^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(`${ROOT}deploy/docker/Dockerfile`, 'utf8'))![1]);
    // The mapping files are the mounted host files: the collector's config and loaders accept them, and
    // the stand-in's pod namespace is a tenant's.
    for (const volume of collector.volumes!) {
      const [host, container] = volume.split(':') as [string, string];
      for (const v of ['TENANT_MAPPING_FILE', 'SLURM_MAPPING_FILE']) if (env[v]!.startsWith(`${container}/`)) env[v] = host + env[v]!.slice(container.length);
    }
    env.POLICY_FILE = `${ROOT}deploy/policy/default.yaml`;
    const config = loadConfig(collectorConfigSchema, env);
    expect(Object.keys(loadSlurmMapping(config.SLURM_MAPPING_FILE!).clusters)).toContain(config.DCGM_CLUSTER);
    expect(loadTenantMapping(config.TENANT_MAPPING_FILE!).namespaces[String(standIn.environment!.DCGM_STAND_IN_NAMESPACE)]).toBeDefined();
  });

  it("routes Prometheus' alerts to the stack's Alertmanager, whose config amtool accepts", () => {
    requireTool('amtool', 'apt-get install -y prometheus-alertmanager');
    const am = spawnSync('amtool', ['check-config', `${ROOT}deploy/alertmanager/alertmanager.yml`], { encoding: 'utf8' });
    expect(am.status, am.stdout + am.stderr).toBe(0);
    const prom = spawnSync('promtool', ['check', 'config', '--syntax-only', `${ROOT}deploy/prometheus/prometheus.yml`], { encoding: 'utf8' });
    expect(prom.status, prom.stdout + prom.stderr).toBe(0);
    const config = parseAllDocuments(readFileSync(`${ROOT}deploy/prometheus/prometheus.yml`, 'utf8'))[0]!.toJS() as { alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] } };
    expect(config.alerting.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets))).toEqual(['alertmanager:9093']);
  });
});

describe('deploy/docker/Dockerfile', () => {
  const dockerfile = readFileSync(`${ROOT}deploy/docker/Dockerfile`, 'utf8');

  it('runs the compiled service, with no TypeScript tooling in the image', () => {
    expect(dockerfile).toMatch(/^RUN node scripts\/build\.mjs$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(dockerfile).not.toMatch(/tsx/);
  });

  it("sets the same malloc and V8 young-generation settings as the ingest's `pnpm start`", () => {
    const code = dockerfile.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n');
    const image = [...code.matchAll(/\b((?:MALLOC_[A-Z_]+|GLIBC_TUNABLES)=\S+)/g)].map((m) => m[1]).sort();
    const start = JSON.parse(readFileSync(`${ROOT}services/ingest/package.json`, 'utf8')).scripts.start as string;
    expect(image).toEqual(['GLIBC_TUNABLES=glibc.malloc.hugetlb=1', 'MALLOC_MMAP_THRESHOLD_=1048576']);
    expect([...start.matchAll(/\b((?:MALLOC_[A-Z_]+|GLIBC_TUNABLES)=\S+)/g)].map((m) => m[1]).sort()).toEqual(image);
    expect(code).toMatch(/\bNODE_OPTIONS=--max-semi-space-size=16\b/);
    expect(start).toMatch(/ node --max-semi-space-size=16 dist\/main\.js$/);
  });
});

describe('deploy/k8s', () => {
  it('assembles with kustomize into objects that match the Kubernetes schemas', () => {
    requireTool('kubectl', 'apt-get install -y kubernetes-client');
    const build = spawnSync('kubectl', ['kustomize', `${ROOT}deploy/k8s`], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const objects = parseAllDocuments(build.stdout).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string } });
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const name of ['ingest', 'api', 'notifier']) {
      expect(kinds).toContain(`Deployment/flopwatch-${name}`);
      expect(kinds).toContain(`PodDisruptionBudget/flopwatch-${name}`);
    }
    expect(kinds).toContain('Deployment/flopwatch-collector');
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `no schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('lets only Prometheus reach the ops ports of the ingest, the notifier and the collector', () => {
    const build = spawnSync('kubectl', ['kustomize', `${ROOT}deploy/k8s`], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    type Policy = { kind: string; metadata: { name: string }; spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { from?: unknown[]; ports: { port: number }[] }[] } };
    type Deploy = { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: { ports: { containerPort: number }[] }[] } } } };
    const objects = parseAllDocuments(build.stdout).map((d) => d.toJS() as Policy & Deploy);
    for (const name of ['ingest', 'notifier', 'collector']) {
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `flopwatch-${name}`)!;
      const opsPort = deployment.spec.template.spec.containers[0]!.ports[0]!.containerPort;
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.spec.podSelector.matchLabels['app.kubernetes.io/name'] === `flopwatch-${name}`);
      expect(policies, name).toHaveLength(1);
      const [policy] = policies;
      expect(policy!.spec.policyTypes).toEqual(['Ingress']);
      // One rule: from Prometheus pods only, to the ops port only.
      expect(policy!.spec.ingress).toEqual([
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
          ports: [{ protocol: 'TCP', port: opsPort }],
        },
      ]);
    }
  });

  it('pins every image to a tag that is not latest', () => {
    const build = spawnSync('kubectl', ['kustomize', `${ROOT}deploy/k8s`], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const images = [...build.stdout.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]!);
    expect(images).toHaveLength(4);
    for (const image of images) expect(image).toMatch(/^[^:@\s]+(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/);
  });

  it('ships the same policy pack as deploy/policy', () => {
    expect(readFileSync(`${ROOT}deploy/k8s/policy/default.yaml`, 'utf8')).toBe(readFileSync(`${ROOT}deploy/policy/default.yaml`, 'utf8'));
  });
});

describe('deploy/k8s: the collector and its exporter discovery', () => {
  type Container = { name: string; env?: { name: string; value?: string }[]; envFrom?: { configMapRef?: { name: string } }[]; volumeMounts: { name: string; mountPath: string }[]; readinessProbe?: unknown; livenessProbe?: unknown; resources?: { requests?: Record<string, string>; limits?: Record<string, string> } };
  type Obj = {
    kind: string;
    metadata: { name: string; namespace?: string };
    data?: Record<string, string>;
    automountServiceAccountToken?: boolean;
    spec: {
      replicas?: number;
      strategy?: { type: string };
      clusterIP?: string;
      ports?: { port: number }[];
      template: { spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean; containers: Container[]; volumes: { name: string; configMap?: { name: string } }[] } };
    };
  };
  const build = (dir: string) => {
    const out = spawnSync('kubectl', ['kustomize', `${ROOT}${dir}`], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    return parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
  };
  const find = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)))!;

  it('runs one replica, never two at once, with probes, resources and no API token', () => {
    requireTool('kubectl', 'apt-get install -y kubernetes-client');
    const objects = build('deploy/k8s');
    const d = find(objects, 'Deployment', 'flopwatch-collector');
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    expect(d.spec.template.spec.serviceAccountName).toBe('flopwatch-collector');
    expect(find(objects, 'ServiceAccount', 'flopwatch-collector').automountServiceAccountToken).toBe(false);
    expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
    const [c] = d.spec.template.spec.containers;
    expect(c!.readinessProbe).toMatchObject({ httpGet: { path: '/readyz' } });
    expect(c!.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' } });
    expect(Object.keys(c!.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(c!.resources?.limits?.memory).toBeDefined();
  });

  it("starts from its ConfigMaps: the collector's own config schema and mapping loaders accept them", () => {
    const objects = build('deploy/k8s');
    const d = find(objects, 'Deployment', 'flopwatch-collector');
    const [c] = d.spec.template.spec.containers;
    const env: Record<string, string> = {};
    for (const from of c!.envFrom ?? []) Object.assign(env, find(objects, 'ConfigMap', from.configMapRef!.name).data);
    for (const e of c!.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    // The mapping files are where the mappings ConfigMap is mounted, under the names its keys give.
    const mount = (file: string) => c!.volumeMounts.find((m) => file.startsWith(`${m.mountPath}/`))!;
    const dir = mkdtempSync(join(tmpdir(), 'flopwatch-collector-k8s-'));
    try {
      for (const variable of ['TENANT_MAPPING_FILE', 'SLURM_MAPPING_FILE']) {
        const path = env[variable]!;
        const volume = d.spec.template.spec.volumes.find((v) => v.name === mount(path).name)!;
        const data = find(objects, 'ConfigMap', volume.configMap!.name).data!;
        const key = path.slice(mount(path).mountPath.length + 1);
        expect(Object.keys(data), variable).toContain(key);
        writeFileSync(join(dir, key), data[key]!);
        env[variable] = join(dir, key);
      }
      env.POLICY_FILE = `${ROOT}deploy/k8s/policy/default.yaml`;
      const config = loadConfig(collectorConfigSchema, env);
      expect(config.DCGM_DNS_SD.length).toBeGreaterThan(0);
      const mapping = loadSlurmMapping(config.SLURM_MAPPING_FILE!);
      expect(Object.keys(mapping.clusters)).toContain(config.DCGM_CLUSTER);
      expect(Object.keys(loadTenantMapping(config.TENANT_MAPPING_FILE!).namespaces).length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('resolves DCGM_DNS_SD to the headless Service that deploy/k8s/dcgm-discovery puts beside the exporters', () => {
    const env = find(build('deploy/k8s'), 'ConfigMap', 'flopwatch-collector-config').data!;
    const [target] = env.DCGM_DNS_SD!.split(',').map(parseDnsTarget);
    const service = find(build('deploy/k8s/dcgm-discovery'), 'Service', 'flopwatch-dcgm-exporter');
    expect(service.spec.clusterIP).toBe('None');
    expect(target!.name).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc`);
    expect(service.spec.ports!.map((p) => p.port)).toContain(target!.port);
    expect(() => new Service(service as never).validate()).not.toThrow();
  });
});

describe('deploy/k8s/monitoring (prometheus-operator and the Grafana sidecar)', () => {
  type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> };
  const build = () => {
    const out = spawnSync('kubectl', ['kustomize', `${ROOT}deploy/k8s/monitoring`], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    return parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
  };
  const base = () => {
    const out = spawnSync('kubectl', ['kustomize', `${ROOT}deploy/k8s`], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    return parseAllDocuments(out.stdout).map((d) => d.toJS() as Obj);
  };

  it('has a ServiceMonitor per service, each selecting a Service of deploy/k8s by label and a port that Service names', () => {
    requireTool('kubectl', 'apt-get install -y kubernetes-client');
    const services = base().filter((o) => o.kind === 'Service') as (Obj & { spec: { ports: { name: string }[] } })[];
    const monitors = build().filter((o) => o.kind === 'ServiceMonitor') as (Obj & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } })[];
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['flopwatch-api', 'flopwatch-collector', 'flopwatch-ingest', 'flopwatch-notifier']);
    for (const m of monitors) {
      expect(m.apiVersion).toBe('monitoring.coreos.com/v1');
      const selected = services.filter((s) => Object.entries(m.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(selected, m.metadata.name).toHaveLength(1);
      for (const e of m.spec.endpoints) {
        expect(selected[0]!.spec.ports.map((p) => p.name), m.metadata.name).toContain(e.port);
        expect(e.path).toBe('/metrics');
      }
    }
  });

  it('carries the operator rules as a PrometheusRule equal to deploy/prometheus/rules, accepted by promtool', () => {
    const rule = build().find((o) => o.kind === 'PrometheusRule')!;
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    const file = parseAllDocuments(readFileSync(`${ROOT}deploy/prometheus/rules/flopwatch-operators.yml`, 'utf8'))[0]!.toJS() as { groups: unknown[] };
    expect(rule.spec!.groups).toEqual(file.groups);
    const dir = mkdtempSync(join(tmpdir(), 'flopwatch-promrule-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: rule.spec!.groups }));
      const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ships the dashboards, equal to deploy/grafana/dashboards, in a ConfigMap the Grafana sidecar picks up', () => {
    const cm = build().find((o) => o.kind === 'ConfigMap')!;
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const files = readdirSync(`${ROOT}deploy/grafana/dashboards`).filter((f) => f.endsWith('.json')).sort();
    expect(Object.keys(cm.data!).sort()).toEqual(files);
    for (const f of files) expect(cm.data![f], f).toBe(readFileSync(`${ROOT}deploy/grafana/dashboards/${f}`, 'utf8'));
  });
});
