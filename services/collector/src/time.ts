/** RFC 3339 in UTC, whole seconds without `.000` (as the Slurm path writes them). */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
