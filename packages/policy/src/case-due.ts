import type { Severity } from '@flopwatch/contracts';
import type { PolicyPack } from './pack-schema.js';

/** When a case of this severity is due: the pack's hours for it, from when the severity was set. */
export function caseDueAt(c: { severity: Severity; severitySince: string }, pack: PolicyPack): Date {
  return new Date(Date.parse(c.severitySince) + pack.cases.dueHours[c.severity] * 3_600_000);
}
