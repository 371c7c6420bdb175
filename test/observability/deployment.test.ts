// The deployment descriptors checked by real tools: docker-compose's own validation of the compose
// file, and kustomize's assembly of deploy/k8s with every object validated against the Kubernetes
// OpenAPI schemas (kubernetes-models).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
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
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

describe('docker-compose.yml', () => {
  it('is a valid compose file with every service health-checked', () => {
    requireTool('docker-compose', 'apt-get install -y docker-compose');
    // Debian's docker-compose (1.29) validates against the compose specification as it was before the
    // top-level `name` key; everything else in the file goes through its schema and interpolation.
    const dir = mkdtempSync(join(tmpdir(), 'flopwatch-compose-'));
    try {
      const file = join(dir, 'docker-compose.yml');
      writeFileSync(file, readFileSync(`${ROOT}docker-compose.yml`, 'utf8').replace(/^name: .*$/m, ''));
      const check = spawnSync('docker-compose', ['-f', file, '--project-directory', ROOT, 'config'], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      const services = parseAllDocuments(check.stdout)[0]!.toJS().services as Record<string, { healthcheck?: unknown }>;
      expect(Object.keys(services).sort()).toEqual(['api', 'grafana', 'ingest', 'kafka', 'notifier', 'prometheus', 'redis']);
      for (const [name, s] of Object.entries(services)) expect(s.healthcheck, `${name} healthcheck`).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `no schema for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
  });

  it('lets only Prometheus reach the ops ports of the ingest and the notifier', () => {
    const build = spawnSync('kubectl', ['kustomize', `${ROOT}deploy/k8s`], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    type Policy = { kind: string; metadata: { name: string }; spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { from?: unknown[]; ports: { port: number }[] }[] } };
    type Deploy = { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: { ports: { containerPort: number }[] }[] } } } };
    const objects = parseAllDocuments(build.stdout).map((d) => d.toJS() as Policy & Deploy);
    for (const name of ['ingest', 'notifier']) {
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

  it('ships the same policy pack as deploy/policy', () => {
    expect(readFileSync(`${ROOT}deploy/k8s/policy/default.yaml`, 'utf8')).toBe(readFileSync(`${ROOT}deploy/policy/default.yaml`, 'utf8'));
  });
});
