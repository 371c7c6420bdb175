/** Codes a contract-level failure can carry; DLQ reasons are a subset a consumer routes on. */
export const CONTRACT_ERROR_CODES = ['invalid_slurm_record', 'unmapped_partition', 'unmapped_cluster', 'illegal_transition'] as const;
export type ContractErrorCode = (typeof CONTRACT_ERROR_CODES)[number];

/** An error raised by a contract helper (mapping, lifecycle); never retryable: the input itself is wrong. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly code: ContractErrorCode;
  readonly retryable = false;

  constructor(code: ContractErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
