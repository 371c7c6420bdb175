import { sleep } from '@flopwatch/runtime';

export interface ScheduleOptions {
  slotMs: number;
  timeoutMs: number;
  /** The clock (epoch ms). */
  now: () => number;
  /** Scrapes one target for the slot containing `startMs`; resolves once the answer is kept or the slot is missed. */
  scrape: (url: string, startMs: number) => Promise<unknown>;
  /** Whole slots a late timer skipped for a target (the scrape counts its own failures). */
  skipped: (url: string, slots: number) => void;
}

/**
 * Where in its slot each scrape starts: the window [offset, offset + timeout] in which the answer must
 * arrive sits in the middle of the slot, as far from both boundaries as the timeout leaves, so a
 * little clock jitter never moves a scrape into a neighbouring slot.
 */
export const scrapeOffset = (slotMs: number, timeoutMs: number): number => Math.floor((slotMs - timeoutMs) / 2);

/**
 * One loop per target, each on its own timer: a scrape per slot, at the same offset into every slot.
 * A slow or silent target delays nothing but itself; its missed slots are its own. `sync` starts the
 * loops of new targets (from their next slot) and stops those of targets no longer listed.
 */
export function createScrapeSchedule(options: ScheduleOptions) {
  const { slotMs, now } = options;
  const offset = scrapeOffset(slotMs, options.timeoutMs);
  const loops = new Map<string, { stop: AbortController; done: Promise<void> }>();
  // Loops of targets no longer listed, until their last scrape has ended.
  const retiring = new Set<Promise<void>>();

  async function run(url: string, signal: AbortSignal): Promise<void> {
    const t0 = now();
    // A target joins at the next slot whose scrape time is still ahead: its first slot is not a miss.
    let next = Math.floor(t0 / slotMs) + (t0 % slotMs > offset ? 1 : 0);
    while (!signal.aborted) {
      await sleep(Math.max(0, next * slotMs + offset - now()), signal).catch(() => undefined);
      if (signal.aborted) break;
      const startMs = now();
      const slot = Math.floor(startMs / slotMs);
      if (slot > next) options.skipped(url, slot - next);
      // Not aborted by a stop: a scrape in flight ends within its slot, answered or at its deadline.
      await options.scrape(url, startMs).catch(() => undefined);
      next = slot + 1;
    }
  }

  return {
    /** Makes the running loops exactly `urls`. */
    sync(urls: readonly string[]): void {
      const wanted = new Set(urls);
      for (const [url, loop] of loops) {
        if (wanted.has(url)) continue;
        loop.stop.abort();
        loops.delete(url);
        retiring.add(loop.done);
        void loop.done.then(() => retiring.delete(loop.done));
      }
      for (const url of wanted) {
        if (loops.has(url)) continue;
        const stop = new AbortController();
        loops.set(url, { stop, done: run(url, stop.signal) });
      }
    },
    /** Stops every loop; resolves when the scrapes in flight have ended. */
    async stop(): Promise<void> {
      const all = [...loops.values()];
      loops.clear();
      for (const loop of all) loop.stop.abort();
      await Promise.all([...all.map((l) => l.done), ...retiring]);
    },
    targets: (): string[] => [...loops.keys()],
  };
}
