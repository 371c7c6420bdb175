// Starts flopwatch services as real processes (their compiled dist/main.js, as `pnpm start` and the
// container image do) on loopback ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, serviceMain, waitFor } from '@flopwatch/test-harness';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type ServiceName = 'ingest' | 'api' | 'notifier' | 'collector';

export interface RunningService {
  name: ServiceName;
  /** host:port of its /metrics. */
  address: string;
  metricsUrl: string;
  close(): Promise<void>;
}

/** Whether the service has a composition root yet (api and notifier are landing as this is written). */
export const serviceExists = (name: ServiceName): boolean => existsSync(`${ROOT}services/${name}/src/main.ts`);

/** Runs services/<name>/dist/main.js with `env` plus the port variable; resolves once /metrics answers. */
export async function startService(name: ServiceName, env: Record<string, string>): Promise<RunningService> {
  const port = await freePort();
  const portEnv = name === 'api' ? { API_HOST: '127.0.0.1', API_PORT: String(port) } : { OPS_HOST: '127.0.0.1', OPS_PORT: String(port) };
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [serviceMain(name)], {
    cwd: `${ROOT}services/${name}`,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, ...portEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  const metricsUrl = `http://${address}/metrics`;
  try {
    await waitFor(async () => child.exitCode === null && (await fetch(metricsUrl).catch(() => null))?.ok, { timeoutMs: 60_000, intervalMs: 250, what: `${name} /metrics` });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not start (exit ${child.exitCode}):\n${output.join('').slice(-3000)}`, { cause: err });
  }
  return {
    name,
    address,
    metricsUrl,
    async close() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
