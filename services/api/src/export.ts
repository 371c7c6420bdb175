// Streaming exports (NDJSON or CSV) of records read one by one, so a five-year range never sits in memory.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { instantSchema } from './schemas.js';

/**
 * How long an export may stream (a route's `handlerTimeout`): the API's REQUEST_TIMEOUT (30 s) would
 * cut a large export off in the middle (fastify destroys a response still streaming at the timeout).
 */
export const EXPORT_TIMEOUT_MS = 3_600_000;

export const exportQuerySchema = z.object({
  since: instantSchema.optional().describe('from (RFC 3339); default: the beginning'),
  until: instantSchema.optional().describe('to (RFC 3339); default: now'),
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
}).strict();

/** One CSV field: quoted when needed; a leading =, +, - or @ is defused so spreadsheets never run it. */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Sends `rows` as NDJSON (one object per line) or CSV (the columns given, header first). */
export function sendExport<T extends object>(reply: FastifyReply, name: string, format: 'ndjson' | 'csv', columns: readonly (keyof T & string)[], rows: AsyncIterable<T>) {
  // Lines go out in chunks of about 64 KiB: one socket write per line would cost more than the line.
  async function* lines() {
    let chunk = format === 'csv' ? `${columns.join(',')}\r\n` : '';
    for await (const row of rows) {
      chunk += format === 'csv' ? `${columns.map((c) => csvField(row[c])).join(',')}\r\n` : `${JSON.stringify(row)}\n`;
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk.length > 0) yield chunk;
  }
  void reply
    .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}.${format}"`);
  return reply.send(Readable.from(lines()));
}
