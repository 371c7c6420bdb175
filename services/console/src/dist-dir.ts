// Where the console's build lives, and a build that runs only when the sources changed since it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The built console (served by the API at /console). */
export const consoleDistDir = join(root, 'dist');

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

/** True when dist/ is missing or older than a source file or the Vite config. */
export function consoleBuildStale(): boolean {
  const index = join(consoleDistDir, 'index.html');
  if (!existsSync(index)) return true;
  return Math.max(newestMtime(join(root, 'web')), statSync(join(root, 'vite.config.ts')).mtimeMs) > statSync(index).mtimeMs;
}

/** Builds the console with Vite when it is stale; returns whether it built. */
export function ensureConsoleBuilt(log: (msg: string) => void = () => {}): boolean {
  if (!consoleBuildStale()) return false;
  log('building the console (vite build) …');
  execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  return true;
}
