#!/usr/bin/env node
// Makes a fresh clone runnable: checks the prerequisites a user must bring (Node 20.19+ or 22.12+, pnpm as
// pinned in package.json) and installs the workspace's dependencies from the lockfile when they are missing
// or stale. With --test (what `pnpm test` runs) it also brings the machine tools the test suite drives:
// installed with apt-get when running as root on Debian/Ubuntu, otherwise it stops at once with the one
// command to run. Uses only Node built-ins, so it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fail = (msg) => {
  console.error(`flopwatch: ${msg}`);
  process.exit(1);
};

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19) || major === 21 || (major === 22 && minor < 12)) {
  fail(`Node.js ${process.versions.node} is not supported; install Node.js 24 LTS (or 20.19+, 22.12+) from https://nodejs.org.`);
}

const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.replace(/^pnpm@/, '');
const pnpm = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
if (pnpm.status !== 0) {
  fail(`pnpm is not installed; run \`npm install -g pnpm@${pinned}\` (or \`corepack enable\`) and try again.`);
}

if (process.argv.includes('--test')) testPrerequisites();

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

/**
 * The tools the test suite runs for real: each command and the Debian package that provides it. Missing
 * ones are installed with apt-get when this runs as root (CI, containers), else the run stops at once
 * with the single command that installs them all.
 */
function testPrerequisites() {
  const tools = [
    ['redis-server', 'redis-server'],
    ['redis-cli', 'redis-tools'],
    ['openssl', 'openssl'],
    ['java', 'openjdk-17-jre-headless'],
    ['mvn', 'maven'],
    ['prometheus', 'prometheus'],
    ['promtool', 'prometheus'],
    ['prometheus-alertmanager', 'prometheus-alertmanager'],
    ['docker-compose', 'docker-compose'],
    ['chromium', 'chromium'],
    ['kubectl', 'kubernetes-client'],
    ['munged', 'munge'],
    ['slurmctld', 'slurmctld'],
    ['slurmd', 'slurmd'],
    ['slurmrestd', 'slurmrestd'],
    ['sbatch', 'slurm-client'],
    // slurmctld's JWT authentication (AuthAltTypes=auth/jwt, what slurmrestd's tokens need): a plugin
    // file, not a command, and only a recommendation of slurmctld, so --no-install-recommends skips it.
    ['/usr/lib/*/slurm-wlm/auth_jwt.so', 'slurm-wlm-jwt-plugin'],
    // The collector's recovery from Slurm's accounting database: slurmdbd on MariaDB (the test harness
    // starts mariadbd when it is installed but not running).
    ['slurmdbd', 'slurmdbd'],
    ['sacctmgr', 'slurm-client'],
    ['mariadbd', 'mariadb-server'],
    ['mariadb', 'mariadb-client'],
  ];
  const has = (cmd) => spawnSync('sh', ['-c', cmd.startsWith('/') ? `ls ${cmd}` : `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  const packages = [...new Set(tools.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg))];
  if (packages.length === 0) return;
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !has('apt-get')) {
    fail(`the test suite needs ${packages.join(', ')}; install them and run again:\n  sudo apt-get update && sudo ${command}`);
  }
  console.log(`flopwatch: installing the test suite's tools with apt-get: ${packages.join(' ')} …`);
  for (const args of [['update'], command.split(' ').slice(1)]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) fail(`\`apt-get ${args.join(' ')}\` failed; see the output above.`);
  }
}
