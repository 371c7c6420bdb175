import { api, ApiFailure, ruleLabels, type Me } from '../api.js';
import { facts, h, mount, table } from '../dom.js';
import { ops, pct, relative, statusLabel, when } from '../format.js';
import { isTrusted, type CaseRow, type GroupUsage, type TenantUsage } from '../types.js';

const breakdown = (title: string, r: Record<string, number>) =>
  h('div', {}, h('h3', {}, title), table(['', 'Operations'], Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, ops(v)]), { class: 'compact' }));

/** A tenant: KYC and risk, usage, breakdowns, its group and its cases. */
export async function tenantPage(root: HTMLElement, _me: Me, id: string): Promise<void> {
  const [u, cases, labels] = await Promise.all([api<TenantUsage>(`/tenants/${encodeURIComponent(id)}/usage`), api<{ cases: CaseRow[] }>(`/cases?tenant=${encodeURIComponent(id)}&status=all`), ruleLabels()]);
  const group = u.groupId ? await api<GroupUsage>(`/groups/${encodeURIComponent(u.groupId)}/usage`).catch((e: unknown) => (e instanceof ApiFailure && e.status === 404 ? null : Promise.reject(e))) : null;
  const r = u.risk;
  mount(root,
    h('p', {}, h('a', { href: '#/queue' }, '← queue')),
    h('h1', { 'data-testid': 'tenant-head' }, 'Tenant ', h('code', {}, id), u.registered ? '' : ' (not registered: KYC unknown)'),
    h('div', { class: 'grid' },
      h('section', { class: 'card' }, h('h2', {}, 'KYC and risk'),
        facts([['HQ country', r.hqCountry ?? 'unknown'], ['Owner countries', r.ownerCountries.join(', ') || '—'], ['Tier', String(r.tier)], ['KYC status', r.kycStatus], ['Trusted', isTrusted(r) ? 'yes' : 'no']]),
        r.reasons.length ? h('ul', {}, ...r.reasons.map((x) => h('li', {}, x))) : null),
      h('section', { class: 'card', 'data-testid': 'usage' }, h('h2', {}, 'Usage'),
        facts([
          ['All time', ops(u.totals.operations)], ['Upper bound', ops(u.totals.upperBoundOperations)], ['Controlled, Tier 1', ops(u.totals.controlledTier1Operations)],
          ['GPU-hours', u.totals.gpuHours.toFixed(1)], ['Last 24 h', ops(u.windows['24h'])], ['Last 30 d', ops(u.windows['30d'])], ['Last 365 d', ops(u.windows['365d'])],
          ['Burn rate', `${ops(u.burnRate.operationsPerDay)} / day`], ['Last activity', when(u.lastActivityAt)],
        ]))),
    h('section', { class: 'card' }, h('h2', {}, 'Projected crossings'),
      table(['Threshold', 'Level', 'Operations', 'Severity', 'When'], u.projections.map((p) => [p.threshold, pct(p.level), ops(p.operations), p.severity, p.reached ? 'reached' : relative(p.projectedAt)]), { class: 'compact' })),
    h('section', { class: 'card grid' }, breakdown('By country', u.breakdown.byCountry), breakdown('By tier', u.breakdown.byTier), breakdown('By accelerator', u.breakdown.byModel), breakdown('By lineage', u.breakdown.byLineage)),
    h('section', { class: 'card', 'data-testid': 'group' }, h('h2', {}, 'Group of linked tenants'),
      group
        ? h('div', {}, h('p', {}, `Group `, h('code', {}, group.groupId), ` · ${group.members.length} members · ${ops(group.totals.operations)} together`),
          table(['Member', 'Operations', 'Tier', 'Trusted'], group.members.map((m) => [h('a', { href: `#/tenants/${encodeURIComponent(m.tenantId)}` }, m.tenantId), ops(m.operations), String(m.risk.tier), isTrusted(m.risk) ? 'yes' : 'no']), { class: 'compact' }))
        : h('p', {}, 'Not linked to other tenants.')),
    h('section', { class: 'card', 'data-testid': 'tenant-cases' }, h('h2', {}, 'Cases'),
      cases.cases.length
        ? table(['Severity', 'Rule', 'Subject', 'Status', 'Opened'], cases.cases.map((c) => [h('span', { class: `badge sev-${c.severity}` }, c.severity), h('a', { href: `#/cases/${c.id}` }, labels[c.rule] ?? c.rule), `${c.scope} ${c.subject}`, statusLabel(c.status), when(c.openedAt)]))
        : h('p', {}, 'No cases.')),
  );
}
