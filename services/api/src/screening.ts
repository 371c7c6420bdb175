// Screening against the provider's copy of the US Consolidated Screening List (CSL), which includes
// the BIS Entity List. The provider downloads it (JSON or CSV, as trade.gov publishes them) to a file
// and refreshes it; the API reloads the file when it changes, screens every tenant against it once
// (one replica, under a lease) and screens each KYC write. A match sets `entityListMatch` with the
// list entry as evidence, through the same audited write as a KYC change, so the ingest re-evaluates
// the tenant. Names are compared as the registry links them (`nameKey`).
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { ScreeningMatch, ScreeningResult, Tenant } from '@flopwatch/contracts';
import { nameKey, nameSimilarity, type Store } from '@flopwatch/store';

export type ListEntry = ScreeningMatch['entry'] & { altNames: string[] };

/** A loaded list: its entries indexed by name key (name and every alias). */
export interface ScreeningList {
  sha256: string;
  entries: number;
  byKey: Map<string, { entry: ListEntry; listed: string }[]>;
}

/** A list file that cannot be read as the CSL: the previous list stays in force. */
export class ScreeningListError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ScreeningListError';
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null);
/** The CSV joins list cells with "; "; JSON gives arrays. */
const list = (v: unknown): string[] => (Array.isArray(v) ? v.flatMap((x) => (typeof x === 'string' ? [x] : [])) : typeof v === 'string' ? v.split(';') : []).map((x) => x.trim()).filter(Boolean);
const COUNTRY = /^[A-Z]{2}$/;

/** Countries of an entry: JSON addresses' `country`, or the trailing code of each CSV address. */
function countriesOf(row: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const addresses = row['addresses'];
  if (Array.isArray(addresses)) {
    for (const a of addresses) {
      const c = a && typeof a === 'object' ? str((a as Record<string, unknown>)['country']) : null;
      if (c && COUNTRY.test(c)) out.add(c);
    }
  } else {
    for (const a of list(addresses)) {
      const last = a.split(',').at(-1)?.trim() ?? '';
      if (COUNTRY.test(last)) out.add(last);
    }
  }
  for (const c of [...list(row['nationalities']), ...list(row['citizenships'])]) if (COUNTRY.test(c)) out.add(c);
  return [...out].sort();
}

function toEntry(row: Record<string, unknown>, at: string): ListEntry {
  const name = str(row['name']);
  const source = str(row['source']);
  if (!name || !source) throw new ScreeningListError(`${at}: an entry needs "name" and "source"`);
  return {
    id: str(row['id']) ?? str(row['_id']) ?? str(row['entity_number']) ?? `${source}:${name}`,
    source,
    name,
    type: str(row['type']),
    programs: list(row['programs']),
    countries: countriesOf(row),
    startDate: str(row['start_date']),
    sourceListUrl: str(row['source_list_url']),
    altNames: list(row['alt_names']),
  };
}

/**
 * Parses the CSL as trade.gov publishes it: JSON (`{ "results": [...] }`, or a bare array) or CSV
 * (header `_id,source,entity_number,type,programs,name,…,alt_names,…`), told apart by the first
 * character. Throws ScreeningListError naming what is wrong.
 */
export function parseScreeningList(text: string): ListEntry[] {
  const body = text.replace(/^\uFEFF/, '').trimStart();
  if (body.startsWith('{') || body.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new ScreeningListError(`the list is not valid JSON: ${(err as Error).message}`);
    }
    const rows = Array.isArray(parsed) ? parsed : (parsed as { results?: unknown }).results;
    if (!Array.isArray(rows)) throw new ScreeningListError('a JSON list must be an array of entries or an object with "results"');
    return rows.map((r, i) => toEntry(r as Record<string, unknown>, `entry ${i}`));
  }
  let rows: Record<string, unknown>[];
  try {
    rows = parseCsv(body, { columns: true, skip_empty_lines: true, relax_column_count: true, bom: true });
  } catch (err) {
    throw new ScreeningListError(`the list is not valid CSV: ${(err as Error).message}`);
  }
  // A trailing control line (some downloads end with an SUB character, 0x1a) is not an entry.
  const SUB = String.fromCharCode(0x1a);
  return rows.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.replaceAll(SUB, '').trim() !== '')).map((r, i) => toEntry(r, `line ${i + 2}`));
}

export function indexScreeningList(entries: ListEntry[], sha256: string): ScreeningList {
  const byKey = new Map<string, { entry: ListEntry; listed: string }[]>();
  for (const entry of entries) {
    for (const listed of [entry.name, ...entry.altNames]) {
      const key = nameKey(listed);
      if (!key) continue;
      const hits = byKey.get(key) ?? [];
      if (!hits.some((h) => h.entry.id === entry.id)) hits.push({ entry, listed });
      byKey.set(key, hits);
    }
  }
  return { sha256, entries: entries.length, byKey };
}

/** The list entries a tenant's legal name, ultimate parent or beneficial owners match. */
export function screenTenant(tenant: Tenant, screeningList: ScreeningList): ScreeningMatch[] {
  const names: { field: ScreeningMatch['field']; declared: string }[] = [
    { field: 'legalName', declared: tenant.legalName },
    ...(tenant.ultimateParent ? [{ field: 'ultimateParent' as const, declared: tenant.ultimateParent.name }] : []),
    ...tenant.beneficialOwners.map((o) => ({ field: 'beneficialOwner' as const, declared: o.name })),
  ];
  const matches: ScreeningMatch[] = [];
  for (const { field, declared } of names) {
    for (const { entry, listed } of screeningList.byKey.get(nameKey(declared)) ?? []) {
      const { altNames: _aliases, ...evidence } = entry;
      matches.push({ field, declared, listed, score: nameSimilarity(declared, listed), entry: evidence });
    }
  }
  return matches;
}

/**
 * The tenant as screening leaves it: a match sets `entityListMatch`; a list that no longer matches
 * clears it only where screening set it (a provider's own flag stays). Null when nothing changes.
 */
export function applyScreening(tenant: Tenant, screeningList: ScreeningList, now: Date): Tenant | null {
  const matches = screenTenant(tenant, screeningList);
  const before = tenant.screening;
  const flagged = matches.length > 0 ? (before?.flagged ?? false) || !tenant.entityListMatch : false;
  const entityListMatch = matches.length > 0 ? true : before?.flagged ? false : tenant.entityListMatch;
  // Unchanged matches and flag: nothing to write (a new list that says the same leaves the record alone).
  const sameMatches = JSON.stringify(before?.matches ?? []) === JSON.stringify(matches);
  if (sameMatches && entityListMatch === tenant.entityListMatch) return null;
  const screening: ScreeningResult = { matches, list: { sha256: screeningList.sha256, entries: screeningList.entries }, screenedAt: now.toISOString(), flagged };
  return { ...tenant, entityListMatch, screening };
}

export interface ScreeningOptions {
  path: string;
  store: Store;
  log: Logger;
  metricsRegistry: Registry;
  /** How often the file's modification time and size are checked. */
  intervalMs: number;
  /** Writes a tenant screening changed, with its audit entry (the API's KYC write). */
  save: (tenant: Tenant) => Promise<void>;
  now?: () => Date;
}

export interface Screening {
  /** The list in force (null before the first successful load). */
  current(): ScreeningList | null;
  close(): Promise<void>;
}

/** Loads the list, reloads it when the file changes, and screens the registry against each new list. */
export async function startScreening({ path, store, log, metricsRegistry, intervalMs, save, now = () => new Date() }: ScreeningOptions): Promise<Screening> {
  const entriesGauge = new Gauge({ name: 'flopwatch_screening_list_entries', help: 'Entries of the screening list in force', registers: [metricsRegistry] });
  const loadedGauge = new Gauge({ name: 'flopwatch_screening_list_loaded_timestamp_seconds', help: 'When the screening list in force was loaded (Unix seconds)', registers: [metricsRegistry] });
  const failures = new Counter({ name: 'flopwatch_screening_list_reload_failures_total', help: 'Screening list files that could not be read or parsed (the previous list stays in force)', registers: [metricsRegistry] });
  const screened = new Counter({ name: 'flopwatch_screening_tenants_changed_total', help: 'Tenants whose screening outcome changed, by outcome', labelNames: ['outcome'], registers: [metricsRegistry] });
  let current: ScreeningList | null = null;
  let seen = '';
  let running: Promise<void> | null = null;
  let closed = false;

  // A file is read once it has kept its size and modification time for one whole check interval, so
  // a provider's copy caught half-written is never loaded; a file that cannot be read is counted once.
  let pending = '';
  async function load(initial: boolean): Promise<void> {
    const info = await stat(path);
    const signature = `${info.mtimeMs}:${info.size}`;
    if (signature === seen) return;
    if (!initial && signature !== pending) {
      pending = signature;
      return;
    }
    seen = signature;
    const text = await readFile(path, 'utf8');
    const sha256 = createHash('sha256').update(text).digest('hex');
    if (current?.sha256 === sha256) return;
    const entries = parseScreeningList(text);
    if (entries.length === 0) throw new ScreeningListError('the list has no entries: a list that screens nobody is refused');
    current = indexScreeningList(entries, sha256);
    entriesGauge.set(current.entries);
    loadedGauge.set(Date.now() / 1000);
    log.info({ path, entries: current.entries, sha256 }, 'screening list loaded');
  }

  async function screenAll(list: ScreeningList): Promise<void> {
    if (!(await store.registry.screening.claim(list.sha256, 10 * 60_000))) return;
    let changed = 0;
    try {
      for (let after: string | null = null; ; ) {
        const ids = await store.registry.listTenantIds(after, 500);
        if (ids.length === 0) break;
        const records = await store.registry.getTenants<Tenant>(ids);
        for (const t of records.values()) {
          if (!t) continue;
          const next = applyScreening(t, list, now());
          if (!next) continue;
          await save(next);
          changed += 1;
          screened.inc({ outcome: next.screening!.matches.length > 0 ? 'matched' : 'cleared' });
        }
        after = ids.at(-1)!;
      }
      await store.registry.screening.done(list.sha256);
      log.info({ sha256: list.sha256, tenantsChanged: changed }, 'every tenant screened against the list');
    } catch (err) {
      await store.registry.screening.release().catch(() => {});
      throw err;
    }
  }

  async function refresh(initial = false): Promise<void> {
    try {
      await load(initial);
    } catch (err) {
      failures.inc();
      log.error({ path, err: (err as Error).message, retryable: !(err instanceof ScreeningListError) }, 'screening list not loaded; the previous list stays in force');
    }
    if (current) await screenAll(current);
  }

  const tick = () => {
    if (closed || running) return;
    running = refresh()
      .catch((err: Error) => log.error({ err: err.message }, 'screening the registry failed; retried on the next check'))
      .finally(() => (running = null));
  };
  await refresh(true).catch((err: Error) => log.error({ err: err.message }, 'screening the registry failed; retried on the next check'));
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    current: () => current,
    async close() {
      closed = true;
      clearInterval(timer);
      while (running) await running;
    },
  };
}
