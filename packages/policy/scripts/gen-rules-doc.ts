// Rewrites the rule table of docs/rules.md from the rule table (packages/policy/src/rules.ts) and the
// default pack; a test fails when the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY_PATH, loadPolicyPack, withRulesTable } from '../src/index.js';

const path = fileURLToPath(new URL('../../../docs/rules.md', import.meta.url));
writeFileSync(path, withRulesTable(readFileSync(path, 'utf8'), loadPolicyPack(DEFAULT_POLICY_PATH)));
console.log('wrote docs/rules.md');
