// The API client: the key lives in sessionStorage only (gone when the tab closes), is sent as a
// bearer header, and never goes into a URL or a log.
const KEY = 'flopwatch.apiKey';

let labels: Promise<Record<string, string>> | undefined;

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => {
    labels = undefined;
    sessionStorage.removeItem(KEY);
  },
};

/** An API error as the API reports it: status, code and message. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; key?: string } = {}): Promise<T> {
  const key = init.key ?? session.key();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/v1${path}`, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }), credentials: 'omit' });
  } catch {
    throw new ApiFailure(0, 'NETWORK', 'the API cannot be reached; check that it is running');
  }
  const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) throw new ApiFailure(res.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

export type Role = 'admin' | 'analyst' | 'ingest' | 'viewer';
export interface Me { name: string; role: Role }
/** Roles that may act on cases (the API refuses others anyway). */
export const canAct = (me: Me) => me.role === 'admin' || me.role === 'analyst';

/** Each rule's label as the policy's rule table names it (GET /v1/policy), read once per session. */
export function ruleLabels(): Promise<Record<string, string>> {
  labels ??= api<{ rules: { rule: string; label: string }[] }>('/policy').then((p) => Object.fromEntries(p.rules.map((r) => [r.rule, r.label])));
  labels.catch(() => {
    labels = undefined;
  });
  return labels;
}
