// The console: hash routes (#/queue, #/cases/<id>, #/tenants/<id>), so links can be shared without
// the server knowing them, and the API key never appears in a URL.
import { api, ApiFailure, session, type Me } from './api.js';
import { h, mount } from './dom.js';
import { casePage } from './pages/case.js';
import { queuePage } from './pages/queue.js';
import { signIn } from './pages/signin.js';
import { tenantPage } from './pages/tenant.js';

const app = document.getElementById('app')!;
const who = document.getElementById('who')!;
const nav = document.getElementById('nav')!;
let me: Me | null = null;

function showSignIn(reason?: string): void {
  me = null;
  mount(who);
  mount(nav);
  mount(app, signIn((m) => {
    me = m;
    void route();
  }, reason));
}

function header(m: Me): void {
  mount(nav, h('a', { href: '#/queue' }, 'Queue'), h('a', { href: '/docs', target: '_blank', rel: 'noopener' }, 'API docs'));
  mount(who, h('span', { 'data-testid': 'who' }, `${m.name} (${m.role})`), h('button', { type: 'button', class: 'link', 'data-testid': 'signout', onclick: () => {
    session.clear();
    showSignIn();
  } }, 'Sign out'));
}

async function route(): Promise<void> {
  if (!session.key()) return showSignIn();
  try {
    me ??= await api<Me>('/whoami');
    header(me);
    const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
    const params = new URLSearchParams(query);
    const parts = path.split('/').filter(Boolean);
    mount(app, h('p', { class: 'muted' }, 'Loading …'));
    if (parts[0] === 'cases' && parts[1]) await casePage(app, me, parts[1]);
    else if (parts[0] === 'tenants' && parts[1]) await tenantPage(app, me, decodeURIComponent(parts[1]));
    else await queuePage(app, me, params);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      session.clear();
      return showSignIn('Your API key is no longer accepted; sign in again.');
    }
    mount(app, h('div', { class: 'card error', role: 'alert', 'data-testid': 'page-error' }, h('h2', {}, err instanceof ApiFailure && err.status === 404 ? 'Not found' : 'Something went wrong'), h('p', {}, (err as Error).message)));
  }
}

window.addEventListener('hashchange', () => void route());
void route();
