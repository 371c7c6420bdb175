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

/**
 * The linking identifiers of a tenant as `kind:value` strings: two tenants sharing any one of them
 * belong to one group. Names are normalised (case, spacing, Unicode form) so trivial variations of
 * an owner's name still link.
 */
export function linkIdentifiers(t: LinkFields | null | undefined): Set<string> {
  const out = new Set<string>();
  if (!t) return out;
  if (t.ultimateParent?.name) out.add(`ultimateParent:${norm(t.ultimateParent.name)}`);
  for (const o of t.beneficialOwners ?? []) if (o.name) out.add(`beneficialOwner:${norm(o.name)}`);
  for (const [kind, values] of Object.entries(t.identifiers ?? {})) {
    for (const v of values ?? []) if (v) out.add(`${kind}:${norm(v)}`);
  }
  return out;
}
