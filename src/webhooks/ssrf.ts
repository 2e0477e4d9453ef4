/**
 * The SSRF guard of webhook endpoints: an endpoint URL must be http(s) and its host must resolve
 * only to public unicast addresses — loopback, private (RFC 1918, unique-local fc00::/7),
 * link-local (169.254/16 with cloud metadata, fe80::/10), carrier-grade NAT, multicast,
 * unspecified and reserved ranges are refused (ipaddr.js `range()` other than `unicast`). The
 * check runs when the endpoint is created or changed and again at each connection of a delivery
 * (a DNS lookup hook on the HTTP agent), so a host that later resolves to a private address (DNS
 * rebinding) is refused too. `WEBHOOK_ALLOW_PRIVATE_URLS=true` turns the guard off (tests, lab
 * setups). See https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
 */
import { type LookupAddress, lookup } from 'node:dns';
import { lookup as lookupAsync } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why `address` may not be called, or undefined when it is a public unicast address. */
export function refusedAddress(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : `${address} is a ${range} address`;
}

/**
 * Why `url` may not be an endpoint, or undefined when it may: not http(s), credentials in it, a
 * host that does not resolve, or (unless `allowPrivate`) one that resolves to a refused address.
 */
export async function refusedUrl(url: string, allowPrivate: boolean): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http or https URL';
  if (parsed.username || parsed.password) return 'must not carry credentials';
  if (allowPrivate) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookupAsync(host, { all: true })).map((a) => a.address);
  } catch {
    return `host ${host} does not resolve`;
  }
  for (const address of addresses) {
    const refused = refusedAddress(address);
    if (refused) return `must not point to a private or loopback address (${refused})`;
  }
  return undefined;
}

/**
 * A `dns.lookup` replacement for the delivery agent's connections: resolves like `dns.lookup`
 * and fails the connection when any address is refused ({@link refusedAddress}).
 */
export function guardedLookup(
  hostname: string,
  options: { family?: number | string; all?: boolean },
  callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
): void {
  lookup(hostname, { ...options, all: true } as { all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    for (const { address } of addresses) {
      const refused = refusedAddress(address);
      if (refused) return callback(new Error(`refused webhook address: ${refused}`), []);
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
