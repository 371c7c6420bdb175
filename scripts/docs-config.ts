// `pnpm docs:config`: writes docs/configuration.md from the services' config schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configurationMarkdown } from './lib/config-docs.js';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
writeFileSync(target, configurationMarkdown());
console.log(`wrote ${target}`);
