/** Codes of policy failures: a bad pack stops the program; the others reject one input. */
export const POLICY_ERROR_CODES = ['unreadable_pack', 'invalid_yaml', 'invalid_pack', 'unknown_accelerator', 'rule_scope_mismatch'] as const;
export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

/** A policy failure; never retryable: the same input fails the same way. */
export class PolicyError extends Error {
  override readonly name: string = 'PolicyError';
  readonly code: PolicyErrorCode;
  readonly retryable = false;

  constructor(code: PolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One problem in a policy pack: the field path (dotted) and what is wrong with it. */
export interface PackIssue {
  path: string;
  problem: string;
}

/** A policy pack that cannot be used; the message names the file, each field and its problem. */
export class PolicyPackError extends PolicyError {
  override readonly name = 'PolicyPackError';
  readonly source: string;
  readonly issues: readonly PackIssue[];

  constructor(code: 'unreadable_pack' | 'invalid_yaml' | 'invalid_pack', source: string, issues: readonly PackIssue[], options?: { cause?: unknown }) {
    super(code, `invalid policy pack ${source}:\n${issues.map((i) => `  - ${i.path}: ${i.problem}`).join('\n')}`, options);
    this.source = source;
    this.issues = issues;
  }
}
