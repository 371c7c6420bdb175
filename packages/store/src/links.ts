import { nameKey, nameSimilarity } from './entity-names.js';

/** The parts of a KYC record that link tenants into groups (structuring detection). */
export interface LinkFields {
  ultimateParent?: { name: string; country?: string } | null;
  beneficialOwners?: { name: string; country?: string }[];
  identifiers?: {
    paymentFingerprints?: string[];
    contactDomains?: string[];
    beneficialOwnerIds?: string[];
  } & Record<string, string[] | undefined>;
}

const norm = (s: string) => s.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');

/** The kinds whose values are names of a party: compared by name key, and weighed by country. */
export const NAME_KINDS = ['ultimateParent', 'beneficialOwner'] as const;
type NameKind = (typeof NAME_KINDS)[number];

/**
 * The version of the linking rule. The registry rebuilds its identifier index and groups when the
 * stored index was built by another version (`registry.rebuildLinks`).
 */
export const LINK_RULE_VERSION = '2';

/** The named parties of a record, by kind, with the country each was declared in. */
function parties(t: LinkFields): { kind: NameKind; name: string; key: string; country: string | null }[] {
  const out: { kind: NameKind; name: string; key: string; country: string | null }[] = [];
  if (t.ultimateParent?.name) out.push({ kind: 'ultimateParent', name: t.ultimateParent.name, key: nameKey(t.ultimateParent.name), country: t.ultimateParent.country ?? null });
  for (const o of t.beneficialOwners ?? []) if (o.name) out.push({ kind: 'beneficialOwner', name: o.name, key: nameKey(o.name), country: o.country ?? null });
  return out.filter((p) => p.key.length > 0);
}

/**
 * The linking identifiers of a tenant as `kind:value` strings: the candidates the registry's index
 * finds. Names are keyed the way screening tools compare them (`nameKey`: token order, punctuation,
 * legal forms and transliteration folded); other identifiers are normalised for case, spacing and
 * Unicode form. Whether two tenants sharing a candidate are linked is `explainLink`'s answer.
 */
export function linkIdentifiers(t: LinkFields | null | undefined): Set<string> {
  const out = new Set<string>();
  if (!t) return out;
  for (const p of parties(t)) out.add(`${p.kind}:${p.key}`);
  for (const [kind, values] of Object.entries(t.identifiers ?? {})) {
    for (const v of values ?? []) if (v) out.add(`${kind}:${norm(v)}`);
  }
  return out;
}

/** One reason two tenants are linked, as an analyst reads it on the case. */
export interface LinkReason {
  /** `kind:value` as in the index. */
  identifier: string;
  kind: string;
  /** What each side declared (names as written). */
  a: string;
  b: string;
  /** Name similarity (1 when the name keys are equal); 1 for identifiers, which match exactly. */
  score: number;
  why: string;
}

/** A candidate identifier shared by too many tenants to link them (a webmail domain, a very common name alone). */
export interface WidelyShared {
  identifier: string;
  tenants: number;
}

export interface LinkOptions {
  /** Tenants sharing one identifier above which it is shown, not linked. */
  maxShared: number;
  /** How many tenants share each identifier (from the index); missing means unknown, taken as linkable. */
  sharedBy?: (identifier: string) => number | undefined;
}

/**
 * Why two tenants are linked: each identifier they share, weighed. A shared name links only when
 * the countries declared with it agree (or one side declared none); an identifier shared by more
 * than `maxShared` tenants does not link and is returned in `widelyShared` instead.
 */
export function explainLink(a: LinkFields, b: LinkFields, { maxShared, sharedBy }: LinkOptions): { reasons: LinkReason[]; widelyShared: WidelyShared[] } {
  const reasons: LinkReason[] = [];
  const widely = new Map<string, number>();
  const wide = (identifier: string): boolean => {
    const n = sharedBy?.(identifier);
    if (n !== undefined && n > maxShared) {
      widely.set(identifier, n);
      return true;
    }
    return false;
  };
  const pa = parties(a);
  const pb = parties(b);
  for (const x of pa) {
    for (const y of pb) {
      if (x.kind !== y.kind || x.key !== y.key) continue;
      const identifier = `${x.kind}:${x.key}`;
      if (wide(identifier)) continue;
      if (x.country && y.country && x.country !== y.country) continue;
      const countries = x.country && y.country ? `, both declared in ${x.country}` : x.country || y.country ? `; country declared on one side only (${x.country ?? y.country})` : '';
      const folded = x.name === y.name ? 'the same name' : 'the same name once token order, punctuation, legal forms and transliteration are folded';
      if (reasons.some((r) => r.identifier === identifier)) continue;
      reasons.push({ identifier, kind: x.kind, a: x.name, b: y.name, score: nameSimilarity(x.name, y.name), why: `${x.kind === 'ultimateParent' ? 'ultimate parent' : 'beneficial owner'}: ${folded}${countries}` });
    }
  }
  const ib = new Map<string, string>();
  for (const [kind, values] of Object.entries(b.identifiers ?? {})) for (const v of values ?? []) if (v) ib.set(`${kind}:${norm(v)}`, v);
  for (const [kind, values] of Object.entries(a.identifiers ?? {})) {
    for (const v of values ?? []) {
      if (!v) continue;
      const identifier = `${kind}:${norm(v)}`;
      const other = ib.get(identifier);
      if (other === undefined || reasons.some((r) => r.identifier === identifier) || wide(identifier)) continue;
      reasons.push({ identifier, kind, a: v, b: other, score: 1, why: `${kind}: the same value` });
    }
  }
  return { reasons, widelyShared: [...widely].map(([identifier, tenants]) => ({ identifier, tenants })).sort((x, y) => x.identifier.localeCompare(y.identifier)) };
}
