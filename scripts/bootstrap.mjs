#!/usr/bin/env node
// Makes a fresh clone runnable: checks the prerequisites a user must bring (Node 20+, pnpm) and installs
// the workspace's dependencies from the lockfile when they are missing or stale. Uses only Node built-ins,
// so it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (msg) => {
  console.error(`flopwatch: ${msg}`);
  process.exit(1);
};

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  fail(`Node.js ${process.versions.node} is too old; install Node.js 20.19 or newer (https://nodejs.org).`);
}

const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
if (pnpm.status !== 0) {
  fail('pnpm is not installed; run `npm install -g pnpm@10` (or `corepack enable`) and try again.');
}

const lock = join(root, 'pnpm-lock.yaml');
const marker = join(root, 'node_modules', '.modules.yaml');
const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  console.log('flopwatch: installing dependencies from the lockfile (pnpm install --frozen-lockfile) …');
  try {
    execFileSync('pnpm', ['install', '--frozen-lockfile'], { cwd: root, stdio: 'inherit' });
  } catch {
    fail('`pnpm install --frozen-lockfile` failed; see the output above.');
  }
}

// The analyst console (services/console) is built, never committed: build it when dist/ is missing or
// older than its sources, so the API can serve it at /console.
const consoleDir = join(root, 'services', 'console');
const newest = (p) => (statSync(p).isDirectory() ? Math.max(statSync(p).mtimeMs, ...readdirSync(p).map((f) => newest(join(p, f)))) : statSync(p).mtimeMs);
const consoleIndex = join(consoleDir, 'dist', 'index.html');
if (!existsSync(consoleIndex) || Math.max(newest(join(consoleDir, 'web')), statSync(join(consoleDir, 'vite.config.ts')).mtimeMs) > statSync(consoleIndex).mtimeMs) {
  console.log('flopwatch: building the analyst console (vite build) …');
  try {
    execFileSync('pnpm', ['--filter', '@flopwatch/console', 'build'], { cwd: root, stdio: 'inherit' });
  } catch {
    fail('building the console failed; see the output above.');
  }
}
