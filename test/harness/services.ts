// Where a service's compiled entry point is: tests that start a service as a process run what
// production runs (`node services/<name>/dist/main.js`, compiled by scripts/build.mjs, which the
// test run's global setup calls first, so the files match the sources being tested).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ServiceName = 'ingest' | 'api' | 'notifier' | 'collector' | 'simulator';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Absolute path of services/<name>/dist/main.js. */
export const serviceMain = (name: ServiceName): string => `${root}services/${name}/dist/main.js`;

/** A service started as a process, with every line it printed (JSON log lines, stderr included). */
export interface ServiceProcess {
  child: ChildProcess;
  /** Log lines the process printed, stdout and stderr. */
  lines: string[];
  exited: Promise<number | null>;
}

/**
 * Runs services/<name>/dist/main.js as an operator would, from the repository root, with the test's
 * environment plus `env` (OPS_PORT=0 and LOG_LEVEL=info unless `env` says otherwise).
 */
export function spawnService(name: ServiceName, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [serviceMain(name)], {
    cwd: root,
    env: { ...process.env, OPS_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  // Whole lines only: a chunk may end in the middle of one (kept until the rest arrives).
  const collector = () => {
    let partial = '';
    return {
      data: (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop()!;
        lines.push(...parts.filter(Boolean));
      },
      end: () => {
        if (partial) lines.push(partial);
        partial = '';
      },
    };
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    const c = collector();
    stream.on('data', c.data);
    stream.on('end', c.end);
  }
  // 'close', not 'exit': it comes once the output pipes are drained, so `lines` then holds the last line.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, lines, exited };
}
