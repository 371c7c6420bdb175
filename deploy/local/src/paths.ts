import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where downloaded artifacts (Kafka jars) are cached: outside the repo, shared by every clone. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flopwatch');
}

/** Where running services keep data, logs and pid files. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLOPWATCH_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'flopwatch');
}
