// Evidence drawings: linked tenants on a circle with an edge per shared identifier set, and a
// lineage's ancestry as a chain of boxes.
import { s } from './dom.js';
import type { AncestryStep, LinkGraph } from './types.js';

export function linkGraph(g: LinkGraph, onOpen: (tenantId: string) => void): SVGElement {
  const n = g.nodes.length;
  const size = Math.max(360, Math.min(760, 120 + n * 34));
  const c = size / 2;
  const r = c - 70;
  const pos = new Map(g.nodes.map((node, i) => {
    const a = (2 * Math.PI * i) / Math.max(n, 1) - Math.PI / 2;
    return [node.tenantId, { x: c + r * Math.cos(a), y: c + r * Math.sin(a) }];
  }));
  const svg = s('svg', { viewBox: `0 0 ${size} ${size}`, class: 'graph', role: 'img', 'aria-label': 'linked tenants', 'data-testid': 'link-graph' });
  for (const e of g.edges) {
    const a = pos.get(e.a)!;
    const b = pos.get(e.b)!;
    const strong = e.identifiers.some((i) => !i.startsWith('contactDomains:'));
    svg.append(s('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: strong ? 'edge strong' : 'edge' }, s('title', {}, `${e.a} — ${e.b}: ${e.identifiers.join(', ')}`)));
  }
  for (const node of g.nodes) {
    const p = pos.get(node.tenantId)!;
    const group = s('g', { class: `node kyc-${node.kycStatus}`, tabindex: 0, role: 'link', 'data-testid': 'graph-node', onclick: () => onOpen(node.tenantId) });
    group.append(s('circle', { cx: p.x, cy: p.y, r: 9 }), s('text', { x: p.x, y: p.y - 13, 'text-anchor': 'middle' }, node.tenantId));
    group.append(s('title', {}, `${node.tenantId}${node.legalName ? ` · ${node.legalName}` : ''} · HQ ${node.hqCountry ?? '?'} · KYC ${node.kycStatus}`));
    svg.append(group);
  }
  return svg;
}

export function ancestryChain(steps: AncestryStep[]): SVGElement {
  const W = 240;
  const H = 56;
  const GAP = 44;
  const total = steps.length * (H + GAP);
  const svg = s('svg', { viewBox: `0 0 ${W + 260} ${total}`, class: 'ancestry', role: 'img', 'aria-label': 'lineage ancestry', 'data-testid': 'ancestry' });
  steps.forEach((step, i) => {
    const y = i * (H + GAP);
    svg.append(s('rect', { x: 1, y: y + 1, width: W, height: H, rx: 6, class: 'box' }));
    svg.append(s('text', { x: 12, y: y + 22, class: 'box-title' }, step.lineageId));
    svg.append(s('text', { x: 12, y: y + 42, class: 'box-sub' }, `tenants: ${step.tenants.join(', ') || '—'}`));
    if (step.link) {
      svg.append(s('line', { x1: W / 2, y1: y + H + 2, x2: W / 2, y2: y + H + GAP - 2, class: step.link.kind === 'checkpoint' ? 'edge strong' : 'edge' }));
      const why = step.link.kind === 'checkpoint' ? `resumed from checkpoint ${step.link.checkpoint ?? ''} of ${step.link.parentTenantId ?? '?'}` : 'declared parent';
      svg.append(s('text', { x: W / 2 + 10, y: y + H + GAP / 2 + 4, class: 'box-sub' }, why));
    }
  });
  return svg;
}
