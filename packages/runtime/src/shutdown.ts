import type { Logger } from 'pino';

export type CloseFn = () => unknown | Promise<unknown>;

export interface ShutdownResult {
  /** Every step closed without error and within the timeout. */
  ok: boolean;
  timedOut: boolean;
  failed: string[];
}

export interface Shutdown {
  /** Registers a step; steps close in reverse order of registration. */
  add(name: string, close: CloseFn): void;
  /** Closes every step once; later calls return the same result. */
  run(reason: string): Promise<ShutdownResult>;
}

export interface ShutdownOptions {
  log: Logger;
  /** Budget for all steps together. */
  timeoutMs?: number;
}

/** Ordered, once-only shutdown of what main.ts created. */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const log = options.log.child({ component: 'shutdown' });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const steps: { name: string; close: CloseFn }[] = [];
  let result: Promise<ShutdownResult> | undefined;

  async function closeAll(reason: string): Promise<ShutdownResult> {
    log.info({ reason, steps: steps.length }, 'shutting down');
    const failed: string[] = [];
    for (const { name, close } of [...steps].reverse()) {
      const started = Date.now();
      try {
        await close();
        log.info({ step: name, durationMs: Date.now() - started }, 'closed');
      } catch (err) {
        failed.push(name);
        log.error({ err, step: name, durationMs: Date.now() - started }, 'close failed');
      }
    }
    return { ok: failed.length === 0, timedOut: false, failed };
  }

  return {
    add(name, close) {
      if (result) throw new Error(`shutdown already running; cannot add ${name}`);
      steps.push({ name, close });
    },
    run(reason) {
      result ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<ShutdownResult>((resolve) => {
          timer = setTimeout(() => {
            log.error({ timeoutMs }, 'shutdown timed out');
            resolve({ ok: false, timedOut: true, failed: [] });
          }, timeoutMs);
        });
        try {
          return await Promise.race([closeAll(reason), timeout]);
        } finally {
          clearTimeout(timer);
        }
      })();
      return result;
    },
  };
}

/** What installSignalHandlers needs from the process; tests pass their own. */
export interface SignalTarget {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): void;
}

export interface SignalHandlerOptions {
  log: Logger;
  signals?: NodeJS.Signals[];
  target?: SignalTarget;
}

/**
 * Exits once the log lines written so far have left the process. pino writes asynchronously; a bare
 * exit would lose the last lines, or write them before a write still in flight (the "closed" and
 * "stopped" lines an operator looks for). Waits at most a second.
 */
function exitAfterFlush(log: Logger, target: { exit(code: number): void }, code: number): void {
  let done = false;
  const exit = () => {
    if (done) return;
    done = true;
    target.exit(code);
  };
  const timer = setTimeout(exit, 1_000);
  timer.unref?.();
  try {
    log.flush(() => {
      clearTimeout(timer);
      exit();
    });
  } catch {
    clearTimeout(timer);
    exit();
  }
}

/**
 * SIGTERM/SIGINT run the shutdown, then exit 0 (1 if a step failed or the timeout hit); a second
 * signal exits 1 at once. For main.ts only. Returns a function that removes the handlers.
 */
export function installSignalHandlers(shutdown: Shutdown, options: SignalHandlerOptions): () => void {
  const log = options.log.child({ component: 'shutdown' });
  const target = options.target ?? process;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let received: NodeJS.Signals | undefined;

  const handlers = signals.map((signal) => {
    const handler = () => {
      if (received) {
        log.error({ signal, first: received }, 'second signal, exiting now');
        target.exit(1);
        return;
      }
      received = signal;
      void shutdown.run(signal).then((r) => exitAfterFlush(log, target, r.ok ? 0 : 1));
    };
    target.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) target.off(signal, handler);
  };
}

/** What installCrashHandlers needs from the process; tests pass their own. */
export interface CrashTarget {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  exit(code: number): void;
}

export interface CrashHandlerOptions {
  log: Logger;
  target?: CrashTarget;
}

/**
 * An uncaught exception or an unhandled rejection is logged (fatal, with its stack: it is a bug), then
 * the shutdown runs — the consumer leaves its group, clients close — and the process exits 1 whatever
 * the shutdown's outcome. A second crash while shutting down exits 1 at once. For main.ts only.
 * Returns a function that removes the handlers.
 */
export function installCrashHandlers(shutdown: Shutdown, options: CrashHandlerOptions): () => void {
  const log = options.log.child({ component: 'crash' });
  const target = options.target ?? process;
  let crashing = false;
  const handle = (kind: 'uncaughtException' | 'unhandledRejection') => (reason: unknown) => {
    const err = reason instanceof Error ? reason : new Error(`non-error ${kind}: ${String(reason)}`);
    if (crashing) {
      log.fatal({ err, kind }, `${kind} while shutting down after a crash; exiting now`);
      target.exit(1);
      return;
    }
    crashing = true;
    log.fatal({ err, kind }, `${kind}: shutting down`);
    void shutdown.run(kind).then(
      (r) => {
        log.fatal({ ok: r.ok, failed: r.failed, timedOut: r.timedOut }, 'stopped after a crash; exiting 1');
        exitAfterFlush(log, target, 1);
      },
      () => exitAfterFlush(log, target, 1),
    );
  };
  const onException = handle('uncaughtException');
  const onRejection = handle('unhandledRejection');
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('uncaughtException', onException);
    target.off('unhandledRejection', onRejection);
  };
}
