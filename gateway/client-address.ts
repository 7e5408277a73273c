/**
 * The client's address. `X-Forwarded-For` is believed only when the connection comes from one of
 * `config.server.trustedProxies`; then the rightmost address that is not itself a trusted proxy is
 * the client (addresses to its left could have been written by anyone).
 */
import { BlockList, isIP } from 'node:net';

export interface ClientAddressResolver {
  isTrusted(address: string): boolean;
  /** The client address for a connection from `remote` carrying `forwardedFor`. */
  resolve(remote: string, forwardedFor: string | string[] | undefined): string;
}

/** The address without the IPv4-mapped prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function peerAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function createClientAddressResolver(trustedProxies: readonly string[]): ClientAddressResolver {
  const list = new BlockList();
  for (const entry of trustedProxies) {
    const [address, bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits !== undefined) list.addSubnet(address, Number(bits), family);
    else list.addAddress(address, family);
  }
  const isTrusted = (address: string): boolean => {
    if (trustedProxies.length === 0 || !address) return false;
    const a = peerAddress(address);
    const family = isIP(a);
    if (family === 0) return false;
    return list.check(a, family === 6 ? 'ipv6' : 'ipv4');
  };
  return {
    isTrusted,
    resolve(remote, forwardedFor) {
      const direct = peerAddress(remote);
      if (!forwardedFor || !isTrusted(direct)) return direct;
      const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (let i = chain.length - 1; i >= 0; i--) {
        const hop = peerAddress(chain[i]);
        if (isIP(hop) === 0) return direct; // garbage in the chain: trust nothing from it
        if (!isTrusted(hop)) return hop;
      }
      return chain.length > 0 ? peerAddress(chain[0]) : direct;
    },
  };
}
