import type { Lineage, Tenant } from '@flopwatch/contracts';
import type { Store } from '@flopwatch/store';

/** Where the simulator registers KYC records and lineages. */
export interface Registrar {
  readonly kind: 'api' | 'store';
  putTenant(tenant: Tenant): Promise<void>;
  putLineage(lineage: Lineage): Promise<void>;
}

/** Registration failed; `retryable` for 429/5xx answers and network errors. */
export class RegistrationError extends Error {
  readonly code = 'registration_failed';
  constructor(message: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistrationError';
  }
}

/** Through the API (`PUT /v1/tenants/:id`, `PUT /v1/lineages/:id`): audited, as an operator would. */
export function apiRegistrar(opts: { url: string; apiKey: string; fetch?: typeof fetch }): Registrar {
  const doFetch = opts.fetch ?? fetch;
  async function put(path: string, body: unknown): Promise<void> {
    let res: Response;
    try {
      res = await doFetch(new URL(path, opts.url), {
        method: 'PUT',
        headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new RegistrationError(`PUT ${path} failed: ${(err as Error).message}`, true, { cause: err });
    }
    if (!res.ok) throw new RegistrationError(`PUT ${path} answered ${res.status}: ${await res.text()}`, res.status === 429 || res.status >= 500);
  }
  return {
    kind: 'api',
    putTenant: ({ updatedAt: _u, ...tenant }) => put(`/v1/tenants/${encodeURIComponent(tenant.id)}`, tenant),
    putLineage: (lineage) => put(`/v1/lineages/${encodeURIComponent(lineage.id)}`, lineage),
  };
}

/** Straight into the store's registry: for runs without an API (tests, replays). No audit entry. */
export function storeRegistrar(store: Store): Registrar {
  return {
    kind: 'store',
    putTenant: async (tenant) => {
      await store.registry.putTenant({ ...tenant, updatedAt: new Date().toISOString() });
    },
    putLineage: async (lineage) => {
      await store.registry.putLineage(lineage);
    },
  };
}

/** Registers a plan's tenants, then its lineages (parents first, as the plan lists them). */
export async function registerAll(registrar: Registrar, records: { tenants: Tenant[]; lineages: Lineage[] }): Promise<void> {
  for (const t of records.tenants) await registrar.putTenant(t);
  for (const l of records.lineages) await registrar.putLineage(l);
}
