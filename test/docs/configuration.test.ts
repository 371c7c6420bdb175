import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from '../../scripts/lib/config-docs.js';

describe('docs/configuration.md', () => {
  it('matches the services\' config schemas (run `pnpm docs:config` after changing one)', () => {
    const checkedIn = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(checkedIn).toBe(configurationMarkdown());
  });

  it('documents every variable of every service', () => {
    const undocumented = configurationMarkdown().split('\n').filter((l) => /^\| `[A-Z0-9_]+` \| .* \| {2}\|$/.test(l));
    expect(undocumented).toEqual([]);
  });
});
