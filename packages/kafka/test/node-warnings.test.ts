import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs a snippet in a fresh Node process (warnings are per process) and returns its stderr. */
function stderrOf(code: string): string {
  const r = spawnSync(process.execPath, ['--conditions=flopwatch-source', '--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr;
}

describe('silenceKafkajsNegativeTimeoutWarning', () => {
  const module = new URL('../src/node-warnings.ts', import.meta.url).href;
  const install = `import { silenceKafkajsNegativeTimeoutWarning } from '${module}';`;

  it('drops the TimeoutNegativeWarning that kafkajs causes and lets every other warning through', () => {
    const out = stderrOf(`${install}
      silenceKafkajsNegativeTimeoutWarning();
      process.emitWarning('-1747359280440 is a negative number.\\nTimeout duration was set to 1.', 'TimeoutNegativeWarning');
      process.emitWarning('something else', 'DeprecationWarning', 'DEP0999');
      await new Promise((r) => setTimeout(r, 50));`);
    expect(out).not.toContain('TimeoutNegativeWarning');
    expect(out).toContain('DeprecationWarning');
  });

  it('leaves the warning alone when not installed', () => {
    const out = stderrOf(`process.emitWarning('-1 is a negative number.', 'TimeoutNegativeWarning'); await new Promise((r) => setTimeout(r, 50));`);
    expect(out).toContain('TimeoutNegativeWarning');
  });
});
