// Writes schema/<name>.json for every public contract; a test fails when the files are stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PUBLIC_CONTRACTS, contractJsonSchema, type PublicContractName } from '../src/index.js';

const dir = fileURLToPath(new URL('../schema/', import.meta.url));
for (const name of Object.keys(PUBLIC_CONTRACTS) as PublicContractName[]) {
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(contractJsonSchema(name), null, 2)}\n`);
  console.log(`wrote schema/${name}.json`);
}
