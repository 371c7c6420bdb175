import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { findAccelerator, isCountryCode } from '@flopwatch/catalog';
import { durationSchema, scenarioSchema, type Scenario } from './schema.js';

/** A scenario file that does not validate; `problems` lists every issue, with its path. */
export class ScenarioError extends Error {
  readonly code = 'invalid_scenario';
  constructor(readonly source: string, readonly problems: string[], options?: { cause?: unknown }) {
    super(`invalid scenario ${source}:\n  ${problems.join('\n  ')}`, options);
    this.name = 'ScenarioError';
  }
}

/** Where the shipped scenarios live. */
export const SCENARIO_DIR = new URL('../../scenarios/', import.meta.url).pathname;

/** Validates a parsed scenario: its schema, then what the schema cannot see (references, catalog, countries). */
export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) throw new ScenarioError(source, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  const scenario = parsed.data;
  const problems = referenceProblems(scenario);
  if (problems.length > 0) throw new ScenarioError(source, problems);
  return scenario;
}

/** Reads and validates a scenario: a path, or the name of a shipped one (`loophole`). */
export function loadScenario(pathOrName: string): Scenario {
  const path = /[/.]/.test(pathOrName) ? pathOrName : `${SCENARIO_DIR}${pathOrName}.yaml`;
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ScenarioError(path, [err instanceof Error ? err.message : String(err)], { cause: err });
  }
  return parseScenario(raw, path);
}

const expandNames = (name: string, repeat: number): string[] =>
  repeat === 1 && !name.includes('{i}') ? [name] : Array.from({ length: repeat }, (_, k) => name.replaceAll('{i}', String(k + 1).padStart(2, '0')));

function referenceProblems(s: Scenario): string[] {
  const problems: string[] = [];
  const tenants = new Set(s.tenants.flatMap((t) => expandNames(t.id, t.repeat)));
  const clusters = new Map(s.clusters.map((c) => [c.id, c]));
  for (const [i, c] of s.clusters.entries()) {
    if (!isCountryCode(c.country)) problems.push(`clusters.${i}.country: ${c.country} is not an ISO 3166-1 country`);
    for (const a of c.accelerators) if (!findAccelerator(a)) problems.push(`clusters.${i}.accelerators: ${a} is not in the catalog`);
  }
  for (const [i, j] of s.jobs.entries()) {
    const names = j.split ? j.split.tenants : [j.tenant!];
    for (let k = 1; k <= j.repeat; k++) {
      for (const n of names) {
        const t = n.replaceAll('{i}', String(k).padStart(2, '0'));
        if (!tenants.has(t)) problems.push(`jobs.${i}: tenant ${t} is not declared`);
      }
    }
    for (const c of j.clusters) if (!clusters.has(c)) problems.push(`jobs.${i}.clusters: cluster ${c} is not declared`);
    if (j.accelerator && !findAccelerator(j.accelerator)) problems.push(`jobs.${i}.accelerator: ${j.accelerator} is not in the catalog`);
    for (const [field, value] of [['duration', j.duration], ['start', j.start]] as const) {
      for (const v of typeof value === 'string' ? [value] : [value.min, value.max]) {
        if (!durationSchema.safeParse(v).success) problems.push(`jobs.${i}.${field}: "${v}" is not a duration like 90s, 6h or 123d`);
      }
    }
  }
  return [...new Set(problems)];
}
