import type { BlockList } from 'node:net';
import { InvalidUpstreamAllowError } from '@lizards/lib';
import { blockListOf, familyOf, parseCidr, type Cidr } from '../net/cidr.js';

/** Loopback (`pnpm start`), RFC 1918 and IPv6 unique-local (containers, Kubernetes pods). */
export const DEFAULT_UPSTREAM_ALLOW = '127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';

/**
 * Ranges refused even inside a broader entry (`0.0.0.0/0`, `fc00::/7`): only an entry within the range itself lets
 * an address of it through. Most specific first, so the metadata addresses need listing themselves, not their
 * link-local /16.
 */
const GUARDED = [
  '169.254.169.254', // cloud metadata
  'fd00:ec2::254', // cloud metadata (IPv6, inside fc00::/7)
  '169.254.0.0/16', // link-local
  'fe80::/10', // link-local
  '0.0.0.0/8', // "this host": connecting there reaches the gateway's own machine
  '::/128',
].map((text) => {
  const range = parseCidr(text);
  return { range, list: blockListOf([range]) };
});

interface Guarded {
  list: BlockList;
  /** The configured entries lying within the guarded range. */
  explicit: BlockList;
}

/** UPSTREAM_ALLOW: the networks upstream instances may be at. */
export class AddressAllowList {
  private readonly allow: BlockList;
  private readonly guarded: Guarded[];

  private constructor(entries: Cidr[]) {
    this.allow = blockListOf(entries);
    this.guarded = GUARDED.map(({ range, list }) => ({
      list,
      explicit: blockListOf(
        entries.filter((e) => e.family === range.family && e.prefix >= range.prefix && list.check(e.address, e.family)),
      ),
    }));
  }

  /** Parses a comma-separated list of CIDRs or addresses; throws InvalidUpstreamAllowError naming a bad entry. */
  static parse(text: string): AddressAllowList {
    const items = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new InvalidUpstreamAllowError('no entry');
    try {
      return new AddressAllowList(items.map(parseCidr));
    } catch (err) {
      throw new InvalidUpstreamAllowError((err as Error).message);
    }
  }

  /** Whether an IP literal is allowed (anything else, a host name included, is not). */
  allows(ip: string): boolean {
    // A zone (fe80::1%eth0) is not part of the address.
    const address = ip.split('%')[0]!;
    const family = familyOf(address);
    if (!family) return false;
    const guarded = this.guarded.find((g) => g.list.check(address, family));
    return (guarded?.explicit ?? this.allow).check(address, family);
  }
}
