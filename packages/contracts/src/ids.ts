import { z } from 'zod';

/** Short printable identifier: tenants, jobs, clusters, lineages. Starts alphanumeric; no spaces or control characters. */
export const idSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/, 'must be a short printable id (1-128 chars of A-Z a-z 0-9 . _ : / @ -, starting alphanumeric)');

/** ISO 3166-1 alpha-2 code, uppercase. Whether the code is assigned is checked by the policy against the catalog. */
export const countryCodeSchema = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code in uppercase');

/** RFC 3339 timestamp with a `Z` or numeric offset. */
export const timestampSchema = z.iso.datetime({ offset: true });

/** Free text a person wrote (names, notes); bounded so a record cannot carry megabytes. */
export const textSchema = (max: number) => z.string().max(max);
