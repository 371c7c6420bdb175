// dcgm-exporter pods found through DNS: a Kubernetes headless Service (or a Compose service name)
// answers one A record per ready pod, so resolving the name every round follows the exporters as nodes
// join and leave, without access to the Kubernetes API.
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { TargetList } from './dcgm/targets.js';

/** One `name:port` of DCGM_DNS_SD. */
export interface DnsTarget {
  name: string;
  port: number;
}

/** Parses `name:port`; throws naming the entry when it is not one. */
export function parseDnsTarget(entry: string): DnsTarget {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/.exec(entry.trim());
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65_535) throw new Error(`"${entry}" is not name:port (e.g. dcgm-exporter.gpu-operator.svc:9400)`);
  return { name: m[1]!, port };
}

export interface DnsTargetList extends TargetList {
  /** Resolves every name now; the list then holds what the last resolution of each name found. */
  refresh(): Promise<void>;
  close(): void;
}

/**
 * The exporter URLs behind `names`, re-resolved every `intervalMs` (one scrape round) in the background;
 * `current()` answers at once with the latest result. Every IPv4 address of a name is a target
 * (`http://<ip>:<port>/metrics`). A name that does not resolve keeps its previous addresses, with a
 * warning: its exporters then show as down in the scrape metrics instead of silently leaving the list.
 */
export function createDnsTargets(options: { targets: readonly DnsTarget[]; intervalMs: number; log: Logger }): DnsTargetList {
  const log = options.log.child({ component: 'dcgm-dns-sd' });
  const found = new Map<string, string[]>();
  const failing = new Set<string>();
  let inFlight: Promise<void> | undefined;

  async function resolveOne(t: DnsTarget): Promise<void> {
    const key = `${t.name}:${t.port}`;
    try {
      const addresses = await lookup(t.name, { all: true, family: 4 });
      const urls = [...new Set(addresses.map((a) => `http://${a.address}:${t.port}/metrics`))].sort();
      const before = found.get(key);
      found.set(key, urls);
      if (failing.delete(key) || before?.join() !== urls.join()) log.info({ name: t.name, port: t.port, targets: urls.length }, 'DCGM targets resolved');
    } catch (err) {
      if (!failing.has(key)) log.warn({ name: t.name, err: (err as Error).message, kept: found.get(key)?.length ?? 0 }, 'DCGM DNS name does not resolve; keeping its previous targets');
      failing.add(key);
    }
  }

  const refresh = () => (inFlight ??= Promise.all(options.targets.map(resolveOne)).then(() => void (inFlight = undefined)));
  const timer = setInterval(() => void refresh(), options.intervalMs);
  timer.unref();

  return {
    current: () => [...new Set([...found.values()].flat())],
    refresh,
    close: () => clearInterval(timer),
  };
}

/** Several target lists as one, each URL once. */
export function joinTargetLists(...lists: TargetList[]): TargetList {
  return { current: () => [...new Set(lists.flatMap((l) => l.current()))] };
}
