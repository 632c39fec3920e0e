import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors/gateway-error.js';

/** Where status notices may be posted. */
export interface AddressPolicy {
  /** Refuse receivers on addresses that are not public: loopback, private networks, link-local (169.254.169.254)… */
  blockPrivate: boolean;
  /** Host names, addresses and CIDR ranges a receiver may be on all the same (WEBHOOK_ALLOWED_HOSTS). */
  allowed: readonly string[];
}

/** The receiver's host is, or resolves only to, an address the policy refuses: nothing was sent. */
export class WebhookAddressRefusedError extends GatewayError<'WEBHOOK_ADDRESS_REFUSED'> {
  constructor(host: string, address: string, range: string) {
    const named = host === address ? address : `${host} (${address})`;
    // Retried like any failure: the name may point elsewhere later, or the operator may allow it.
    super(`the receiver's address ${named} is not public (${range}); allow it with WEBHOOK_ALLOWED_HOSTS`, {
      code: 'WEBHOOK_ADDRESS_REFUSED',
      retriable: true,
    });
    this.name = 'WebhookAddressRefusedError';
  }
}

/** Whether an allow-list entry is an address or a CIDR range (else it is a host name). */
export const isAddressOrRange = (entry: string): boolean => ipaddr.isValid(entry) || ipaddr.isValidCIDR(entry);

const rangeOf = (entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] => {
  if (ipaddr.isValidCIDR(entry)) return ipaddr.parseCIDR(entry);
  const address = ipaddr.process(entry);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
};

/**
 * Checks each address a status notice is about to connect to, so a receiver's name that resolves (now, or after a
 * DNS change) to the gateway's own network is refused at connect time, not only when it is registered. `lookup` goes
 * on the request (the socket connects only to the addresses it answers); `checkHost` covers a URL whose host is an
 * address, which Node connects to without a lookup.
 */
export function createAddressGuard({ blockPrivate, allowed }: AddressPolicy) {
  const hosts = new Set(allowed.filter((entry) => !isAddressOrRange(entry)).map((entry) => entry.toLowerCase()));
  const ranges = allowed.filter(isAddressOrRange).map(rangeOf);

  /** Undefined when the address may be connected to; else the name of its range (ipaddr.js's). */
  function refusal(host: string, address: string): string | undefined {
    if (!blockPrivate || hosts.has(host.toLowerCase())) return undefined;
    const ip = ipaddr.process(address); // an IPv4-mapped IPv6 address is judged as the IPv4 one it carries
    if (ranges.some(([base, bits]) => base.kind() === ip.kind() && ip.match(base, bits))) return undefined;
    const range = ip.range();
    return range === 'unicast' ? undefined : range;
  }

  const lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const open = addresses.filter((a) => refusal(hostname, a.address) === undefined);
      if (open.length === 0) {
        const first = addresses[0]!;
        return callback(new WebhookAddressRefusedError(hostname, first.address, refusal(hostname, first.address)!), '');
      }
      if (options.all) return callback(null, open);
      return callback(null, open[0]!.address, open[0]!.family);
    });
  };

  return {
    lookup,
    /** Throws WebhookAddressRefusedError when `hostname` (a URL's) is an address the policy refuses. */
    checkHost(hostname: string): void {
      const bare = hostname.replace(/^\[(.*)\]$/, '$1');
      if (!net.isIP(bare)) return;
      const range = refusal(bare, bare);
      if (range) throw new WebhookAddressRefusedError(bare, bare, range);
    },
  };
}

export type AddressGuard = ReturnType<typeof createAddressGuard>;
