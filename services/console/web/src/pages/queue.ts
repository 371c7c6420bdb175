import { api, canAct, ruleLabels, type Me } from '../api.js';
import { h, mount, table } from '../dom.js';
import { levelText, relative, SEVERITIES, STATUSES, statusLabel, when } from '../format.js';
import type { CaseRow, Counts } from '../types.js';

interface Filters { rule: string; severity: string; status: string; assignee: string; tenant: string; overdue: string }

const select = (name: string, label: string, value: string, options: [string, string][]) =>
  h('label', {}, label, h('select', { name, 'data-testid': `filter-${name}` }, ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));

/** The queue: counts, filters and the cases sorted by severity, then projected crossing. */
export async function queuePage(root: HTMLElement, me: Me, params: URLSearchParams): Promise<void> {
  const f: Filters = {
    rule: params.get('rule') ?? '', severity: params.get('severity') ?? '', status: params.get('status') ?? 'active',
    assignee: params.get('assignee') ?? '', tenant: params.get('tenant') ?? '', overdue: params.get('overdue') ?? '',
  };
  const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v !== '') as [string, string][]);
  const [{ cases, counts, total }, labels] = await Promise.all([api<{ cases: CaseRow[]; counts: Counts; total: number }>(`/cases?${q}`), ruleLabels()]);

  const form = h('form', { class: 'filters', 'data-testid': 'filters' },
    select('rule', 'Rule', f.rule, [['', 'any'], ...Object.entries(labels)]),
    select('severity', 'Severity', f.severity, [['', 'any'], ...SEVERITIES.map((s): [string, string] => [s, s])]),
    select('status', 'Status', f.status, [['active', 'active'], ['all', 'all'], ...STATUSES.map((s): [string, string] => [s, statusLabel(s)])]),
    h('label', {}, 'Assignee', h('input', { name: 'assignee', value: f.assignee, placeholder: 'name or none', 'data-testid': 'filter-assignee' })),
    h('label', {}, 'Tenant', h('input', { name: 'tenant', value: f.tenant, placeholder: 'tenant id', 'data-testid': 'filter-tenant' })),
    select('overdue', 'Due', f.overdue, [['', 'any'], ['true', 'overdue'], ['false', 'not overdue']]),
    h('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v.trim() !== '') next.set(k, v.trim());
    location.hash = `#/queue?${next}`;
  });

  const chip = (label: string, n: number, href: string, cls = '') => h('a', { class: `count ${cls}`, href, 'data-testid': `count-${label.replace(/\s+/g, '-')}` }, h('strong', {}, n), ` ${label}`);
  const countBar = h('section', { class: 'counts', 'data-testid': 'counts' },
    chip('active', counts.active, '#/queue'),
    chip('overdue', counts.overdue, '#/queue?overdue=true', counts.overdue > 0 ? 'bad' : ''),
    chip('unassigned', counts.unassigned, '#/queue?assignee=none'),
    ...SEVERITIES.map((s) => chip(s, counts.activeBySeverity[s] ?? 0, `#/queue?severity=${s}`, `sev-${s}`)),
  );

  const selected = new Set<string>();
  const bulk = h('button', { type: 'button', disabled: true, 'data-testid': 'bulk-ack' }, 'Acknowledge selected');
  const bulkMsg = h('span', { class: 'muted', role: 'status' });
  bulk.addEventListener('click', () => {
    void api<{ results: { id: string; ok: boolean; error: string | null }[] }>('/cases/acknowledge', { method: 'POST', body: { ids: [...selected] } }).then((r) => {
      const failed = r.results.filter((x) => !x.ok);
      bulkMsg.textContent = `${r.results.length - failed.length} acknowledged${failed.length ? `, ${failed.length} not: ${failed.map((x) => x.error).join('; ')}` : ''}`;
      void queuePage(root, me, params);
    }, (err: Error) => (bulkMsg.textContent = err.message));
  });

  const rows = cases.map((c) => {
    const box = h('input', { type: 'checkbox', 'aria-label': `select ${c.id}` });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(c.id);
      else selected.delete(c.id);
      bulk.disabled = selected.size === 0;
    });
    return [
      ...(canAct(me) ? [box] : []),
      h('span', { class: `badge sev-${c.severity}` }, c.severity),
      h('a', { href: `#/cases/${c.id}`, 'data-testid': 'case-link' }, labels[c.rule] ?? c.rule),
      h('span', {}, `${c.scope} `, h('code', {}, c.subject)),
      levelText(c),
      relative(c.projectedCrossingAt),
      h('span', { class: `status st-${c.status}` }, statusLabel(c.status)),
      c.assignee ?? '—',
      h('span', { class: c.overdue ? 'overdue' : '' }, c.overdue ? `overdue ${relative(c.dueAt)}` : relative(c.dueAt)),
      when(c.openedAt),
    ];
  });
  const head = [...(canAct(me) ? [''] : []), 'Severity', 'Rule', 'Subject', 'Level · measured', 'Projected crossing', 'Status', 'Assignee', 'Due', 'Opened'];
  const list = table(head, rows, { class: 'queue', 'data-testid': 'queue' });
  mount(root,
    h('h1', {}, 'Case queue'),
    countBar,
    form,
    h('p', { class: 'muted' }, `${total} case${total === 1 ? '' : 's'} match; sorted by severity, then projected crossing.`),
    canAct(me) ? h('div', { class: 'bulk' }, bulk, bulkMsg) : null,
    list,
  );
}
