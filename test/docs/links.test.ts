import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The user-facing documents: every relative link must reach a file of the repository. The one
// place outside it a link may point is ../shared (the design documents beside the repository,
// which a clone does not have), so those are not checked for existence.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const documents = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function relativeLinks(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'));
}

describe('documentation links', () => {
  it.each(documents)('%s links only to files that exist', (file) => {
    const broken: string[] = [];
    for (const target of relativeLinks(file)) {
      const path = resolve(root, dirname(file), decodeURI(target.split('#')[0]!));
      const inside = path === root || path.startsWith(root + sep);
      const shared = path.startsWith(resolve(root, '..', 'shared') + sep);
      if (inside ? !existsSync(path) : !shared) broken.push(`${target} (${inside ? 'missing' : `outside the repository: ${relative(root, path)}`})`);
    }
    expect(broken).toEqual([]);
  });
});
