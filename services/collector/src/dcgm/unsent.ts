import type { UsageEvent } from '@flopwatch/contracts';

export interface UnsentOptions {
  /** Most reports kept; beyond it the oldest are dropped. */
  max: number;
  /** A report unsent for longer than this means the source cannot deliver (readiness). */
  maxAgeMs: number;
  /** Called with the reports dropped to make room, oldest first. */
  onDrop: (dropped: UsageEvent[]) => void;
}

/** Whether the source delivers what it observes. */
export interface Delivery {
  ready: boolean;
  unsent: number;
  /** When the oldest unsent report was first refused (epoch ms), if any is kept. */
  oldestSinceMs?: number;
  /** Reports dropped since the buffer was last emptied by a successful send. */
  droppedSinceDelivery: number;
}

/**
 * Reports Kafka refused, kept to be sent again, bounded: when full, the oldest are dropped and handed
 * to `onDrop` (which names them in metrics). Not ready while a kept report is older than `maxAgeMs`
 * or any was dropped since the last send that emptied the buffer.
 */
export function createUnsentBuffer(options: UnsentOptions) {
  if (!(options.max >= 1)) throw new RangeError(`the unsent bound must be at least 1 (got ${options.max})`);
  let kept: { event: UsageEvent; sinceMs: number }[] = [];
  let dropped = 0;

  return {
    /** Everything kept, oldest first: what the next send starts with. */
    events: (): UsageEvent[] => kept.map((k) => k.event),
    /** The batch was sent: nothing is kept any more. */
    delivered(): void {
      kept = [];
      dropped = 0;
    },
    /** The send of `batch` (the kept reports, then `fresh` ones) failed at `nowMs`: keep it, within the bound. */
    refused(fresh: UsageEvent[], nowMs: number): void {
      kept.push(...fresh.map((event) => ({ event, sinceMs: nowMs })));
      const excess = kept.length - options.max;
      if (excess <= 0) return;
      const gone = kept.splice(0, excess);
      dropped += gone.length;
      options.onDrop(gone.map((k) => k.event));
    },
    size: (): number => kept.length,
    delivery(nowMs: number): Delivery {
      const oldest = kept[0]?.sinceMs;
      const stale = oldest !== undefined && nowMs - oldest > options.maxAgeMs;
      return { ready: !stale && dropped === 0, unsent: kept.length, ...(oldest === undefined ? {} : { oldestSinceMs: oldest }), droppedSinceDelivery: dropped };
    },
  };
}

export type UnsentBuffer = ReturnType<typeof createUnsentBuffer>;
