import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { PolicyPackError } from './errors.js';
import { policyPackSchema, type PolicyPack } from './pack-schema.js';

/** deploy/policy/default.yaml of this checkout (same depth from src/ and dist/). */
export const DEFAULT_POLICY_PATH = fileURLToPath(new URL('../../../deploy/policy/default.yaml', import.meta.url));

/** Reads and validates a policy pack file; throws PolicyPackError naming the file, field and problem. */
export function loadPolicyPack(path: string): PolicyPack {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyPackError('unreadable_pack', path, [{ path: '(file)', problem: err instanceof Error ? err.message : String(err) }], { cause: err });
  }
  return parsePolicyPack(text, path);
}

/** Validates a policy pack given as YAML text; `sourceName` names it in errors. */
export function parsePolicyPack(text: string, sourceName: string): PolicyPack {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({
      path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)',
      // The pretty message repeats the position and quotes the source; the first clause is the problem.
      problem: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
    }));
    throw new PolicyPackError('invalid_yaml', sourceName, issues, { cause: doc.errors[0] });
  }
  const result = policyPackSchema.safeParse(doc.toJS());
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.length > 0 ? i.path.map(String).join('.') : '(root)', problem: i.message }));
    throw new PolicyPackError('invalid_pack', sourceName, issues, { cause: result.error });
  }
  return result.data;
}
