import { api, ApiFailure, canAct, ruleLabels, type Me } from '../api.js';
import { cumulativeChart } from '../chart.js';
import { facts, h, mount, table } from '../dom.js';
import { ops, pct, relative, statusLabel, when } from '../format.js';
import { ancestryChain, linkGraph } from '../graph.js';
import { behaviourSection } from '../behaviour.js';
import { isTrusted, type Case, type CaseDetail, type Series } from '../types.js';

const section = (title: string, testid: string, ...children: (Node | string | null)[]) => h('section', { class: 'card', 'data-testid': testid }, h('h2', {}, title), ...children);
const tenantLink = (id: string) => h('a', { href: `#/tenants/${encodeURIComponent(id)}` }, id);

/** The actions panel: one note for every action; the API checks the role and the lifecycle again. */
function actions(c: Case, reload: () => void): HTMLElement {
  const note = h('textarea', { id: 'note', rows: 2, placeholder: 'Note (required to resolve or mark a false positive)', 'data-testid': 'action-note' });
  const message = h('p', { class: 'error', role: 'alert', 'data-testid': 'action-error' });
  const run = (p: Promise<unknown>) => p.then(reload, (err: unknown) => (message.textContent = err instanceof ApiFailure ? err.message : String(err)));
  const transition = (action: string, label: string) =>
    h('button', { type: 'button', 'data-testid': `action-${action}`, onclick: () => run(api(`/cases/${c.id}/transitions`, { method: 'POST', body: { action, ...(note.value.trim() ? { note: note.value.trim() } : {}) } })) }, label);
  const assignee = h('input', { id: 'assignee', value: c.assignee ?? '', placeholder: 'analyst name', 'data-testid': 'assignee-input' });
  const comment = h('textarea', { id: 'comment', rows: 3, placeholder: 'Comment', 'data-testid': 'comment-input' });
  const tags = h('input', { id: 'tags', value: c.tags.join(', '), placeholder: 'tags, comma-separated', 'data-testid': 'tags-input' });
  const tagList = () => tags.value.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0);
  return h('section', { class: 'card actions', 'data-testid': 'actions' },
    h('h2', {}, 'Actions'),
    note,
    h('div', { class: 'buttons' }, transition('acknowledge', 'Acknowledge'), transition('escalate', 'Escalate'), transition('resolve', 'Resolve'), transition('mark_false_positive', 'False positive')),
    h('div', { class: 'inline' }, h('label', { for: 'assignee' }, 'Assignee'), assignee,
      h('button', { type: 'button', 'data-testid': 'action-assign', onclick: () => run(api(`/cases/${c.id}/assign`, { method: 'POST', body: { assignee: assignee.value.trim() || null, ...(note.value.trim() ? { note: note.value.trim() } : {}) } })) }, 'Assign')),
    h('div', { class: 'inline' }, h('label', { for: 'tags' }, 'Tags'), tags,
      h('button', { type: 'button', 'data-testid': 'action-tags', onclick: () => run(api(`/cases/${c.id}/tags`, { method: 'PUT', body: { tags: tagList() } })) }, 'Save tags')),
    h('div', { class: 'inline' }, comment,
      h('button', { type: 'button', 'data-testid': 'action-comment', onclick: () => comment.value.trim() && run(api(`/cases/${c.id}/comments`, { method: 'POST', body: { text: comment.value.trim() } })) }, 'Comment')),
    message,
  );
}

function levels(c: Case, series: Series): HTMLElement {
  const rows = series.levels.map((l) => {
    const alert = c.alerts.find((a) => Math.abs(a.level - l.fraction) < 1e-9);
    const reached = c.observedOperations >= l.operations;
    return [pct(l.fraction), ops(l.operations), h('span', { class: `badge sev-${l.severity}` }, l.severity), reached ? 'reached' : `${pct(c.observedOperations / l.operations)} of it`, alert ? when(alert.raisedAt) : '—'];
  });
  return section('Measured against each level', 'levels',
    h('p', {}, 'Measured: ', h('strong', { 'data-testid': 'measured' }, ops(c.observedOperations)), ` of a ${ops(c.threshold)} threshold (${pct(c.observedOperations / c.threshold)}).`),
    table(['Level', 'Operations', 'Severity', 'Measured', 'Alert raised'], rows));
}

/** For a case about several tenants: why they are untrusted, each reason with how many tenants it applies to. */
function groupReasons(d: CaseDetail): HTMLElement {
  const untrusted = d.tenants.filter((t) => !isTrusted(t.risk));
  const reasons = new Map<string, number>();
  for (const t of untrusted) for (const r of t.risk.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  return h('div', {},
    h('p', {}, `${untrusted.length} of ${d.tenants.length} tenants are untrusted (worst tier ${Math.max(0, ...d.tenants.map((t) => t.risk.tier))}).`),
    h('h3', {}, 'Why untrusted'),
    reasons.size ? h('ul', { 'data-testid': 'reasons' }, ...[...reasons].sort((a, b) => b[1] - a[1]).map(([r, n]) => h('li', {}, `${r} (${n} tenant${n === 1 ? '' : 's'})`))) : h('p', {}, 'Every tenant is trusted now.'));
}

function kyc(c: Case, d: CaseDetail): HTMLElement {
  const k = c.kyc;
  const snapshot = k
    ? h('div', {},
      facts([['Tenant', tenantLink(k.tenantId)], ['HQ country', k.hqCountry ?? 'unknown'], ['Owner countries', k.ownerCountries.join(', ') || '—'], ['Tier', String(k.tier)], ['KYC status', k.kycStatus], ['Trusted', isTrusted(k) ? 'yes' : 'no']], 'kyc'),
      h('h3', {}, 'Why untrusted'),
      k.reasons.length ? h('ul', { 'data-testid': 'reasons' }, ...k.reasons.map((r) => h('li', {}, r))) : h('p', {}, 'No reasons recorded: the tenant was trusted when the alert was raised.'))
    : groupReasons(d);
  const current = d.tenants.length
    ? table(['Tenant', 'Legal name', 'HQ', 'Tier', 'KYC', 'Trusted'], d.tenants.map((t) => [tenantLink(t.tenantId), t.record?.legalName ?? 'not registered', t.record?.hqCountry ?? '—', String(t.risk.tier), t.record?.kycStatus ?? 'unknown', isTrusted(t.risk) ? 'yes' : 'no']), { 'data-testid': 'tenants', class: 'compact' })
    : null;
  return section(k ? 'KYC snapshot (when raised)' : 'KYC of the tenants', 'kyc-section', snapshot, current ? h('h3', {}, 'Tenants now') : null, current);
}

/** Each linking identifier, the tenants that share it and why it links them (the graph's edges, grouped). */
function linkTable(g: NonNullable<CaseDetail['graph']>): HTMLElement {
  const by = new Map<string, { tenants: Set<string>; why: Set<string>; spellings: Set<string> }>();
  for (const e of g.edges) {
    for (const r of e.reasons) {
      const row = by.get(r.identifier) ?? { tenants: new Set<string>(), why: new Set<string>(), spellings: new Set<string>() };
      row.tenants.add(e.a).add(e.b);
      row.why.add(r.why);
      row.spellings.add(r.a).add(r.b);
      by.set(r.identifier, row);
    }
  }
  const rows = [...by].sort((a, b) => b[1].tenants.size - a[1].tenants.size).map(([ident, row]) => {
    const [kind = '', ...value] = ident.split(':');
    return [kind, h('code', {}, value.join(':')), `${row.tenants.size}`, [...row.tenants].sort().join(', '), `${[...row.why].join('; ')} (${[...row.spellings].map((x) => `“${x}”`).join(', ')})`];
  });
  const links = table(['Identifier', 'Value', 'Tenants', 'Shared by', 'Why'], rows, { 'data-testid': 'graph-edges', class: 'compact' });
  if (g.widelyShared.length === 0) return links;
  const wide = table(['Identifier (not a link: widely shared)', 'Tenants holding it'], g.widelyShared.map((w) => [h('code', {}, w.identifier), `${w.tenants}`]), { 'data-testid': 'graph-widely-shared', class: 'compact' });
  return h('div', {}, links, wide);
}

function evidence(c: Case, d: CaseDetail): HTMLElement {
  const ev = c.evidence;
  return section('Evidence', 'evidence',
    h('h3', {}, 'Top jobs'),
    ev.topJobs.length ? table(['Tenant', 'Job', 'Operations'], ev.topJobs.map((j) => [tenantLink(j.tenantId), h('code', {}, j.jobId), ops(j.operations)])) : h('p', {}, 'No job evidence.'),
    h('h3', {}, 'Contributing tenants'),
    ev.contributingTenants.length ? table(['Tenant', 'Operations'], ev.contributingTenants.map((t) => [tenantLink(t.tenantId), ops(t.operations)]), { 'data-testid': 'contributing' }) : h('p', {}, '—'),
    d.graph ? h('h3', {}, `Linked tenants (${d.graph.nodes.length}) and the identifiers linking them`) : null,
    d.graph ? linkGraph(d.graph, (t) => (location.hash = `#/tenants/${encodeURIComponent(t)}`)) : null,
    d.graph ? linkTable(d.graph) : null,
    d.ancestry ? h('h3', {}, 'Lineage ancestry') : null,
    d.ancestry ? ancestryChain(d.ancestry) : null,
  );
}

function trail(c: Case, d: CaseDetail): HTMLElement[] {
  const history = table(['When', 'Who', 'What', 'Status', 'Note'], c.history.map((e) => [
    when(e.at), e.actor,
    e.action === 'assign' ? `assign → ${e.assignee ?? 'nobody'}` : e.level !== undefined ? `${e.action} (level ${pct(e.level)}, ${e.severity})` : e.action,
    e.from && e.from !== e.to ? `${statusLabel(e.from)} → ${statusLabel(e.to)}` : statusLabel(e.to),
    e.note ?? '',
  ]), { 'data-testid': 'history' });
  const comments = c.comments.length ? h('ul', { class: 'comments', 'data-testid': 'comments' }, ...c.comments.map((x) => h('li', {}, h('strong', {}, x.actor), ` · ${when(x.at)}`, h('p', {}, x.text)))) : h('p', {}, 'No comments yet.');
  const audit = table(['#', 'When', 'Who', 'Action', 'Note', 'Hash'], d.audit.map((e) => [String(e.seq), when(e.at), e.actor, e.action, e.note ?? '', h('code', { title: e.hash }, e.hash.slice(0, 12))]), { 'data-testid': 'audit' });
  return [section('History', 'history-section', history), section('Comments', 'comments-section', comments), section('Audit entries (hash-chained)', 'audit-section', audit)];
}

/** A case: what it is about, the chart, evidence, the trail, and (for analysts) the actions. */
export async function casePage(root: HTMLElement, me: Me, id: string): Promise<void> {
  const [d, series, labels] = await Promise.all([api<CaseDetail>(`/cases/${id}`), api<Series>(`/cases/${id}/series`), ruleLabels()]);
  const c = d.case;
  const reload = () => void casePage(root, me, id);
  mount(root,
    h('p', {}, h('a', { href: '#/queue' }, '← queue')),
    h('header', { class: 'case-head', 'data-testid': 'case-head' },
      h('h1', {}, `${labels[c.rule] ?? c.rule}: ${c.scope} `, h('code', {}, c.subject)),
      h('div', { class: 'meta' },
        h('span', { class: `badge sev-${c.severity}`, 'data-testid': 'case-severity' }, c.severity),
        h('span', { class: `status st-${c.status}`, 'data-testid': 'case-status' }, statusLabel(c.status)),
        h('span', { 'data-testid': 'case-assignee' }, `assignee: ${c.assignee ?? 'nobody'}`),
        h('span', { class: c.overdue ? 'overdue' : '' }, `due ${when(c.dueAt)} (${relative(c.dueAt)})`),
        h('span', {}, `projected crossing: ${c.projectedCrossingAt ? `${when(c.projectedCrossingAt)} (${relative(c.projectedCrossingAt)})` : 'none'}`),
        c.tags.length ? h('span', { 'data-testid': 'case-tags' }, `tags: ${c.tags.join(', ')}`) : null,
        h('span', { class: 'muted' }, `policy ${c.policyVersion} · ${c.alerts.length} alert${c.alerts.length === 1 ? '' : 's'}`),
      )),
    canAct(me) ? actions(c, reload) : null,
    h('div', { class: 'grid' },
      section(`Cumulative operations (${series.basis})`, 'chart-section', cumulativeChart(series),
        h('p', { class: 'muted' }, 'Lines: the rule\'s levels. Dots: alerts as raised. Dashed: the projected crossing at the trailing burn rate.')),
      levels(c, series)),
    kyc(c, d),
    evidence(c, d),
    behaviourSection(d.behaviour ?? [], canAct(me), reload),
    ...trail(c, d),
  );
}
