import { SEVERITIES, type Severity } from '@flopwatch/contracts';

/** The graver of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b;
}
