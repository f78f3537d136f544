import { InvalidTrustProxyError } from '@lizards/lib';
import { parseCidr } from '../net/cidr.js';

/** Names @fastify/proxy-addr expands into their ranges. */
const RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

const WHAT_TO_GIVE =
  'give the addresses or CIDRs of the proxies in front of the gateway (e.g. 10.0.0.5,10.1.0.0/16), or leave it unset';

/**
 * TRUST_PROXY as Fastify's `trustProxy`: the proxies whose X-Forwarded-* the gateway believes, or false for none.
 * `true` (every hop trusted: a client would write its own IP, and so pick its rate-limit bucket) and a hop count
 * (it cannot tell a proxy from a client that connects directly; Fastify 5.12.1+ treats it as trusting nobody) are
 * refused at start.
 */
export function parseTrustProxy(value: string | undefined): string[] | false {
  const text = (value ?? '').trim();
  if (text === '' || text === 'false') return false;
  if (text === 'true')
    throw new InvalidTrustProxyError(
      `"true" would trust every X-Forwarded-For entry, so a client could choose its own IP; ${WHAT_TO_GIVE}`,
    );
  if (/^\d+$/.test(text))
    throw new InvalidTrustProxyError(
      `a hop count (${text}) cannot tell a proxy from a client that connects directly; ${WHAT_TO_GIVE}`,
    );
  return text.split(',').map((entry) => {
    const item = entry.trim();
    if (RANGE_NAMES.has(item)) return item;
    try {
      const cidr = parseCidr(item);
      return `${cidr.address}/${cidr.prefix}`;
    } catch (err) {
      throw new InvalidTrustProxyError(`${(err as Error).message}; ${WHAT_TO_GIVE}`);
    }
  });
}
