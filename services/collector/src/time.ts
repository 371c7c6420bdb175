/** RFC 3339 in UTC, whole seconds without `.000` (as the Slurm path writes them). */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

/** A URL without its user name and password: fit for logs and metric labels. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}
