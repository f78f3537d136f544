import { BlockList, isIP } from 'node:net';

export type AddressFamily = 'ipv4' | 'ipv6';

/** One `address/prefix` network; a bare address is a network of one. */
export interface Cidr {
  address: string;
  prefix: number;
  family: AddressFamily;
}

/** The family of an IP literal, or undefined for anything else (a host name). */
export function familyOf(address: string): AddressFamily | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/** Parses `10.0.0.0/8`, `fc00::/7` or a bare address; throws an Error naming the entry when it is neither. */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const family = familyOf(address);
  const bits = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!family || rest.length > 0 || !(prefix >= 0 && prefix <= bits)) {
    throw new Error(`"${text.trim()}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fc00::/7)`);
  }
  return { address, prefix, family };
}

/** A BlockList holding `cidrs` (a BlockList matches IPv4-mapped IPv6 addresses against IPv4 rules too). */
export function blockListOf(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return list;
}
