// What a script's numeric reply means, named once for every script (BullMQ's error-code.ts): a code
// means the same thing whichever script returns it, and a script's header lists the ones it returns.
import { AppError } from '@flopwatch/runtime';

export const REPLY_CODES = {
  /** The change was written. */
  done: 1,
  /** Nothing to do: it was already so (the alert exists, the delivery is pending). Nothing written. */
  noop: 0,
  /** The record does not exist. Nothing written. */
  not_found: -1,
  /** The record (or the chain head) changed since the caller read it. Nothing written: re-read, retry. */
  stale: -2,
  /** An entry the call names is no longer there (an audit entry already sealed). Nothing written. */
  entry_gone: -3,
  /** The caller no longer holds the lease the call needs. Nothing written. */
  not_leaseholder: -4,
} as const;

export type ReplyCode = keyof typeof REPLY_CODES;

const NAMES = new Map<unknown, ReplyCode>(Object.entries(REPLY_CODES).map(([name, code]) => [code, name as ReplyCode]));

/** A script answered with something its declaration does not allow: a bug or a script of another version. */
export class ScriptReplyError extends AppError<'SCRIPT_REPLY'> {}

/** The name of a script's reply code, when it is one of `allowed`; otherwise throws ScriptReplyError. */
export function decodeReply<N extends ReplyCode>(script: string, raw: unknown, allowed: readonly N[]): N {
  const name = NAMES.get(raw);
  if (name === undefined || !(allowed as readonly ReplyCode[]).includes(name)) {
    throw new ScriptReplyError('SCRIPT_REPLY', `script ${script} replied ${String(raw)}, not one of ${allowed.join(', ')}`);
  }
  return name as N;
}
