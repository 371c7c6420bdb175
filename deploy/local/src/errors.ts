/** A missing prerequisite or a service that would not start: the message says what to do. */
export class InfraError extends Error {
  override readonly name = 'InfraError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
