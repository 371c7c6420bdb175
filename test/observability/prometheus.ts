// A real Prometheus (the machine's `prometheus` binary) for tests: temp config and data dir, loopback port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@flopwatch/test-harness';

export interface ScrapeTarget {
  job: string;
  address: string;
}

export interface TestPrometheus {
  url: string;
  query(expr: string): Promise<{ resultType: string; result: unknown[] }>;
  close(): Promise<void>;
}

/** Fails with an instruction when a binary of Debian's `prometheus` package is missing. */
export function requireBinary(name: 'prometheus' | 'promtool'): void {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${name} is not installed: run \`apt-get update && apt-get install -y prometheus\` (Debian's package ships prometheus and promtool)`);
  }
}

/** Starts Prometheus scraping `targets` every second and evaluating `ruleFiles` every second. */
export async function startPrometheus(targets: ScrapeTarget[], ruleFiles: string[]): Promise<TestPrometheus> {
  requireBinary('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'flopwatch-prom-'));
  const jobs = targets.map((t) => `  - job_name: ${t.job}\n    static_configs:\n      - targets: ['${t.address}']`).join('\n');
  const rules = ruleFiles.map((f) => `  - ${JSON.stringify(f)}`).join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n${rules}\nscrape_configs:\n${jobs}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const stderr: string[] = [];
  const child: ChildProcess = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok, { timeoutMs: 30_000, what: `prometheus ready on ${url}` });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`prometheus did not start: ${stderr.join('').slice(-2000)}`, { cause: err });
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
      const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: unknown } };
      if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? res.status}\n  ${expr}`);
      const result = body.data.resultType === 'vector' || body.data.resultType === 'matrix' ? (body.data.result as unknown[]) : [body.data.result];
      return { resultType: body.data.resultType, result };
    },
    async close() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
