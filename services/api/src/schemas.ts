// Schemas shared by several routes; each route's own request and response schemas live beside it.
import { z } from 'zod';
import { idSchema } from '@flopwatch/contracts';
import { API_ERROR_CODES } from './errors.js';

/** `{ "error": { "code", "message", "details" } }`, every error's body. */
export const errorSchema = z.object({
  error: z.object({
    code: z.enum(API_ERROR_CODES),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).nullable(),
  }),
}).meta({ id: 'Error' });

/** The error responses a route documents, by status. */
export const errors = (...statuses: (400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503)[]) =>
  Object.fromEntries([...new Set([400, 401, 403, 429, ...statuses])].map((s) => [s, errorSchema])) as Record<number, typeof errorSchema>;

export const idParams = z.object({ id: idSchema });

/** Page size of listings. */
export const limitSchema = z.coerce.number().int().min(1).max(500).default(50);

/** A time filter: RFC 3339. */
export const instantSchema = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** Operations as a plain number (tera-operations × 10^12 in the books). */
export const operationsSchema = z.number().min(0);
