import { createHash } from 'node:crypto';

function weight(node: string, key: string): bigint {
  return createHash('sha1').update(node).update('\0').update(key).digest().readBigUInt64BE(0);
}

/**
 * Rendezvous (highest random weight) hashing: the node that owns `key`; the same on every instance for the same nodes.
 */
export function rendezvousOwner(key: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const node of nodes) {
    const w = weight(node, key);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}
