// The case chart: the subject's cumulative operations by day, each level as a horizontal line, the
// alerts as dots and the projected crossing as a dashed vertical line. Plain SVG, drawn here.
import { s } from './dom.js';
import { day, ops } from './format.js';
import type { Series } from './types.js';

const W = 760;
const H = 300;
const PAD = { left: 86, right: 120, top: 16, bottom: 34 };
const DAY_MS = 86_400_000;

export function cumulativeChart(series: Series): SVGElement {
  const pts = series.points.map((p) => ({ t: Date.parse(`${p.day}T23:59:59Z`), v: p.operations }));
  const alertPts = series.alerts.map((a) => ({ t: Date.parse(a.raisedAt), v: a.observedOperations }));
  const crossing = series.projectedCrossingAt ? Date.parse(series.projectedCrossingAt) : null;
  const times = [...pts.map((p) => p.t), ...alertPts.map((p) => p.t), ...(crossing ? [crossing] : [])];
  const t0 = times.length ? Math.min(...times) - DAY_MS : Date.now() - 30 * DAY_MS;
  const t1 = times.length ? Math.max(...times) + DAY_MS : Date.now();
  const top = Math.max(...series.levels.map((l) => l.operations), ...pts.map((p) => p.v), ...alertPts.map((p) => p.v), 1) * 1.05;
  const x = (t: number) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `cumulative operations of ${series.basis}`, 'data-testid': 'case-chart' });
  svg.append(s('line', { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: 'axis' }));
  svg.append(s('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: 'axis' }));
  for (const f of [0, 0.5, 1]) {
    const v = top * f;
    svg.append(s('text', { x: PAD.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, ops(v)));
  }
  svg.append(s('text', { x: PAD.left, y: H - 10, class: 'tick' }, day(new Date(t0).toISOString())));
  svg.append(s('text', { x: W - PAD.right, y: H - 10, class: 'tick', 'text-anchor': 'end' }, day(new Date(t1).toISOString())));

  for (const l of series.levels) {
    svg.append(s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(l.operations), y2: y(l.operations), class: `level sev-${l.severity}`, 'data-testid': 'chart-level' }));
    svg.append(s('text', { x: W - PAD.right + 4, y: y(l.operations) + 4, class: 'level-label' }, `${Math.round(l.fraction * 100)} % · ${ops(l.operations)}`));
  }
  if (pts.length > 0) {
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: 'series', 'data-testid': 'chart-series' }));
  }
  for (const a of alertPts) svg.append(s('circle', { cx: x(a.t), cy: y(a.v), r: 4, class: 'alert-dot' }, s('title', {}, `alert at ${ops(a.v)}`)));
  if (crossing) {
    svg.append(s('line', { x1: x(crossing), x2: x(crossing), y1: PAD.top, y2: H - PAD.bottom, class: 'crossing', 'data-testid': 'chart-crossing' }));
    svg.append(s('text', { x: x(crossing) - 4, y: PAD.top + 12, class: 'crossing-label', 'text-anchor': 'end' }, `projected crossing ${day(series.projectedCrossingAt)}`));
  }
  return svg;
}
