import type { LevelBasis } from './types.js';
/** 1.23e25 → "1.23 × 10²⁵". */
const SUP: Record<string, string> = { '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '-': '⁻' };
export function ops(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(n)));
  const m = n / 10 ** e;
  return `${m.toFixed(2)} × 10${String(e).split('').map((c) => SUP[c] ?? c).join('')}`;
}

export const pct = (n: number) => `${Math.round(n * 1000) / 10} %`;

/**
 * A case's level as its rule means it: a fraction of the threshold with the operations measured, a
 * velocity band with the days to the crossing, or the observed figure against a limit.
 */
export function levelText(c: { rule: string; level: number; levelBasis?: LevelBasis; observedOperations: number }): string {
  const b = c.levelBasis;
  if (b?.kind === 'band') return `band ${b.band} (≤ ${b.withinDays} d) · crossing in ${b.daysToCross.toFixed(1)} d`;
  if (b?.kind === 'limit') return b.quantity === 'h100e' ? `${Math.round(b.observed)} of ${b.limit} H100e` : `${ops(b.observed)} past ${ops(b.limit)}`;
  if (!b && c.rule === 'velocity') return `band ${c.level}`;
  return `${pct(c.level)} · ${ops(c.observedOperations)}`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

export function day(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : '—';
}

/** "in 3 d" / "5 h ago". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text = abs >= 86_400_000 ? `${Math.round(abs / 86_400_000)} d` : abs >= 3_600_000 ? `${Math.round(abs / 3_600_000)} h` : `${Math.max(1, Math.round(abs / 60_000))} min`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const STATUSES = ['open', 'acknowledged', 'escalated', 'resolved', 'false_positive'] as const;
export const statusLabel = (s: string) => s.replace('_', ' ');
