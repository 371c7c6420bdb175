import { api, ApiFailure } from './api.js';
import { h, table } from './dom.js';
import type { BehaviourLink } from './types.js';

// Behavioural links on the case page: tenants found running together (co-scheduled jobs, checkpoint
// hand-offs), the evidence, and for analysts the confirm / dismiss buttons (the API audits both; a
// dismissed link stays dismissed through later analyses).

const minute = (m: number) => new Date(m * 60_000).toISOString().slice(0, 16).replace('T', ' ');
const sci = (x: number) => (x === 0 ? '0' : x.toExponential(1));

function decide(link: BehaviourLink, action: 'confirm' | 'dismiss', note: HTMLTextAreaElement, message: HTMLElement, reload: () => void): HTMLElement {
  return h('button', {
    type: 'button',
    'data-testid': `link-${action}-${link.id}`,
    onclick: () => {
      const text = note.value.trim();
      api(`/behaviour-links/${encodeURIComponent(link.id)}/${action}`, { method: 'POST', body: text ? { note: text } : {} }).then(reload, (err: unknown) => (message.textContent = err instanceof ApiFailure ? err.message : String(err)));
    },
  }, action === 'confirm' ? 'Confirm link' : 'Dismiss link');
}

/** The case's behavioural links, each with its evidence; buttons when the analyst may act. */
export function behaviourSection(links: BehaviourLink[], canAct: boolean, reload: () => void): HTMLElement | null {
  if (links.length === 0) return null;
  const note = h('textarea', { rows: 2, placeholder: 'Note for the decision (optional)', 'data-testid': 'link-note' });
  const message = h('p', { class: 'error', role: 'alert', 'data-testid': 'link-error' });
  return h('section', { class: 'card', 'data-testid': 'behaviour' },
    h('h2', {}, 'Behavioural links (found in telemetry)'),
    ...links.map((l) => {
      const e = l.evidence;
      const why = [
        e.matched > 0 ? `${e.matched} job pair${e.matched === 1 ? '' : 's'} started and ended within the same minutes with the same shape (${sci(e.expected)} expected by chance; p = ${sci(e.pValue)}, ${sci(e.adjustedPValue)} over ${e.pairsTested} tenant pairs)` : null,
        e.handoffs.length ? `${e.handoffs.length} checkpoint hand-off${e.handoffs.length === 1 ? '' : 's'}` : null,
      ].filter(Boolean).join('; ');
      return h('div', { class: 'behaviour-link', 'data-testid': `link-${l.id}` },
        h('h3', {}, `${l.tenants[0]} ↔ ${l.tenants[1]} `, h('span', { class: `status st-${l.status}`, 'data-testid': `link-status-${l.id}` }, l.status)),
        h('p', {}, why),
        l.decision ? h('p', { class: 'muted' }, `${l.decision.status} by ${l.decision.by} at ${l.decision.at}${l.decision.note ? `: ${l.decision.note}` : ''}`) : null,
        e.matches.length ? table(['Cluster', 'Shape', `${l.tenants[0]} job`, `${l.tenants[1]} job`, 'Start', 'End'], e.matches.map((m) => [m.cluster, m.shape, h('code', {}, m.a.jobId), h('code', {}, m.b.jobId), minute(m.a.startMin), minute(m.a.endMin)]), { class: 'compact' }) : null,
        e.handoffs.length ? table(['Checkpoint', 'Written by', 'Read by'], e.handoffs.map((x) => [h('code', {}, x.checkpoint), `${x.parentTenantId} (${x.parentLineageId})`, `${x.tenantId} (${x.lineageId})`]), { class: 'compact' }) : null,
        canAct ? h('div', { class: 'buttons' }, l.status !== 'confirmed' ? decide(l, 'confirm', note, message, reload) : null, l.status !== 'dismissed' ? decide(l, 'dismiss', note, message, reload) : null) : null,
      );
    }),
    canAct ? note : null,
    message,
  );
}
