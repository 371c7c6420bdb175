import { api, ApiFailure, session, type Me } from '../api.js';
import { h } from '../dom.js';

/** Asks for an API key; keeps it in sessionStorage once the API accepts it. */
export function signIn(onDone: (me: Me) => void, reason?: string): HTMLElement {
  const input = h('input', { type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'off', required: true, 'data-testid': 'api-key' });
  const message = h('p', { class: 'error', role: 'alert', 'data-testid': 'signin-error' }, reason ?? '');
  const form = h('form', { class: 'signin', 'data-testid': 'signin' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste your flopwatch API key. It is kept in this tab only (sessionStorage) and sent as a bearer header.'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('button', { type: 'submit', 'data-testid': 'signin-submit' }, 'Sign in'),
    message,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const key = input.value.trim();
    message.textContent = '';
    void api<Me>('/whoami', { key }).then((me) => {
      session.set(key);
      input.value = '';
      onDone(me);
    }, (err: unknown) => {
      message.textContent = err instanceof ApiFailure && err.status === 401
        ? 'That API key was not accepted. Check that you pasted the whole key, or ask an admin for one.'
        : err instanceof ApiFailure && err.status === 429 ? 'Too many attempts; wait a minute and try again.' : `Sign-in failed: ${(err as Error).message}`;
    });
  });
  return form;
}
