// Which URLs the notifier may call. Webhook URLs come from API users, so without this an endpoint
// could point the notifier at the metadata service, Redis or an admin port inside the network (SSRF).
// Checked at registration and again at every delivery: the delivery connects to the very address that
// passed the check (see safeLookup), so a DNS answer that changes between check and connect
// (DNS rebinding) cannot slip through.
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { WebhookError } from './errors.js';

export interface UrlPolicy {
  /** Allow http:// (local development only); https is always allowed. */
  allowHttp: boolean;
  /**
   * Exceptions to the address check: CIDRs (`10.1.0.0/16`, `::1/128`), single addresses, host names
   * (`hooks.internal`) or host suffixes (`*.internal`).
   */
  allowList: readonly string[];
}

export const DEFAULT_URL_POLICY: UrlPolicy = { allowHttp: false, allowList: [] };

/** A resolved address: what node:dns' lookup returns. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Strips IPv6 brackets from URL.hostname. */
const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1');

/** Throws URL_INVALID unless every allow-list entry is a CIDR, an address, a host name or `*.suffix`. */
export function validateAllowList(entries: readonly string[]): void {
  for (const e of entries) {
    if (ipaddr.isValidCIDR(e) || ipaddr.isValid(e) || /^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(e)) continue;
    throw new WebhookError('URL_INVALID', `invalid allow-list entry ${JSON.stringify(e)}: expected a CIDR, an address or a host name`);
  }
}

function hostAllowListed(hostname: string, policy: UrlPolicy): boolean {
  const host = hostname.toLowerCase();
  return policy.allowList.some((e) => {
    const entry = e.toLowerCase();
    return entry.startsWith('*.') ? host.endsWith(entry.slice(1)) : host === entry;
  });
}

function addressAllowListed(addr: ipaddr.IPv4 | ipaddr.IPv6, policy: UrlPolicy): boolean {
  return policy.allowList.some((entry) => {
    if (ipaddr.isValidCIDR(entry)) {
      const [net, bits] = ipaddr.parseCIDR(entry);
      return net.kind() === addr.kind() && addr.match(net, bits);
    }
    return ipaddr.isValid(entry) && ipaddr.process(entry).toString() === addr.toString();
  });
}

/**
 * Why `address` may not be called, or null when it may. Only ordinary public unicast passes:
 * loopback, private, link-local (169.254.169.254 metadata), unique-local IPv6, CGNAT, multicast,
 * reserved and translation ranges are refused unless allow-listed. IPv4-mapped IPv6 is checked as IPv4.
 */
export function forbiddenAddressReason(address: string, policy: UrlPolicy): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const addr = ipaddr.process(address);
  if (addressAllowListed(addr, policy)) return null;
  const range = addr.range();
  if (range === 'unicast') return null;
  return `${addr.toString()} is in a ${range} range`;
}

/** Parses and checks the URL's form: scheme, no credentials. Throws URL_INVALID / URL_SCHEME_NOT_ALLOWED. */
export function parseEndpointUrl(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new WebhookError('URL_INVALID', `invalid URL ${JSON.stringify(raw)}`, { cause: err });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    const allowed = policy.allowHttp ? 'https or http' : 'https (http only when WEBHOOK_ALLOW_HTTP is set)';
    throw new WebhookError('URL_SCHEME_NOT_ALLOWED', `webhook URL must use ${allowed}, got ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw new WebhookError('URL_INVALID', 'webhook URL must not carry credentials');
  if (url.hash) throw new WebhookError('URL_INVALID', 'webhook URL must not carry a fragment');
  return url;
}

/**
 * Resolves `hostname` and returns its addresses when every one of them may be called; throws
 * URL_ADDRESS_FORBIDDEN (naming the address and range) or DNS_FAILED. An allow-listed host name skips
 * the address check.
 */
export async function resolveAllowed(hostname: string, policy: UrlPolicy, resolver: Resolver = systemResolver): Promise<ResolvedAddress[]> {
  const host = bare(hostname);
  let addresses: ResolvedAddress[];
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: ipaddr.parse(host).kind() === 'ipv6' ? 6 : 4 }];
  } else {
    try {
      addresses = await resolver(host);
    } catch (err) {
      throw new WebhookError('DNS_FAILED', `cannot resolve ${host}`, { cause: err, retryable: true });
    }
    if (addresses.length === 0) throw new WebhookError('DNS_FAILED', `${host} has no addresses`, { retryable: true });
  }
  if (hostAllowListed(host, policy)) return addresses;
  for (const { address } of addresses) {
    const reason = forbiddenAddressReason(address, policy);
    if (reason) {
      throw new WebhookError('URL_ADDRESS_FORBIDDEN', `webhook host ${host} resolves to a forbidden address: ${reason} (add it to WEBHOOK_ALLOW_LIST to allow it)`, {
        details: { host, address },
      });
    }
  }
  return addresses;
}

/** The registration check: form, then every resolved address. Returns the parsed URL. */
export async function assertEndpointUrl(raw: string, policy: UrlPolicy, resolver?: Resolver): Promise<URL> {
  const url = parseEndpointUrl(raw, policy);
  await resolveAllowed(url.hostname, policy, resolver);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;

/**
 * A `lookup` for node:http / node:net that resolves, checks, and hands the socket exactly the checked
 * addresses, so the connection goes where the check looked.
 */
export function safeLookup(policy: UrlPolicy, resolver?: Resolver) {
  return (hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    resolveAllowed(hostname, policy, resolver).then(
      (addresses) => {
        if (typeof options === 'object' && options?.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
