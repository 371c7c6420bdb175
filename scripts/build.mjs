#!/usr/bin/env node
// `pnpm build`: compiles the TypeScript of every workspace package that a service runs (src/**/*.ts,
// tests excluded) to JavaScript, file for file, into the package's dist/ (the console's server-side
// helper into lib/, since its dist/ is the Vite build). The services run from these files: their
// package exports point at dist/ by default, `pnpm start`, the container image, the demo, the
// benchmarks and the tests that start a service as a process all run `node services/<name>/dist/main.js`.
// Only vitest, which loads packages in-process, and the developer scripts read the TypeScript itself
// (the `flopwatch-source` export condition).
//
// Why compiled files and not tsx at run time: an ingest started through tsx holds about 70 MiB more
// (tsx's module loader thread and its transform cache: 147 MiB idle against 76 MiB), and memory is
// what the ingest's budget is short of (CONTRIBUTING.md; docs/benchmarks.md, Tuning). esbuild only
// strips the types; the type checking is `pnpm typecheck`'s (tsc), so the two cannot disagree about
// what the code means.
//
// Every run starts from empty output folders and takes about a second, so a build is never stale.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Workspace folders whose src/ is compiled, and where to. */
export function buildTargets() {
  const targets = [];
  for (const group of ['packages', 'services']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const dir = join(root, group, name);
      if (!existsSync(join(dir, 'src'))) continue;
      targets.push({ dir, outDir: join(dir, name === 'console' && group === 'services' ? 'lib' : 'dist') });
    }
  }
  return targets;
}

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts') && !entry.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** esbuild, or an error that says how to get it (it is a dev dependency of the workspace root). */
async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new Error('esbuild is not installed: run `pnpm install` at the workspace root (or `node scripts/bootstrap.mjs`) and try again');
  }
}

/**
 * Compiles every target; resolves with what it did. Throws (with esbuild's messages, naming file and
 * line) when a file does not compile.
 */
export async function buildWorkspace({ log = (line) => console.log(line) } = {}) {
  const started = performance.now();
  const { build } = await loadEsbuild();
  let files = 0;
  const targets = buildTargets();
  for (const { dir, outDir } of targets) {
    const entryPoints = sources(join(dir, 'src'));
    rmSync(outDir, { recursive: true, force: true });
    await build({
      entryPoints,
      outdir: outDir,
      outbase: join(dir, 'src'),
      format: 'esm',
      platform: 'node',
      // The oldest Node the project supports (package.json engines).
      target: 'node20.19',
      // The compiler options that change what esbuild emits, stated here rather than read from the
      // tsconfig files, so a build without them (the container image's) emits the same code.
      tsconfigRaw: { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: true } },
      sourcemap: 'linked',
      sourcesContent: false,
      logLevel: 'warning',
    });
    files += entryPoints.length;
  }
  const seconds = (performance.now() - started) / 1000;
  log(`[build] ${files} files of ${targets.length} packages compiled to dist/ in ${seconds.toFixed(1)} s`);
  return { files, packages: targets.length, seconds, outDirs: targets.map((t) => relative(root, t.outDir)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildWorkspace();
  } catch (err) {
    console.error(`[build] failed: ${err.message}`);
    process.exit(1);
  }
}
