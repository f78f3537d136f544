import { createServer, type AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';

/** A free TCP port on 127.0.0.1 (bound then released), for a child process that must be told its port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A free TCP port on 127.0.0.1 below the kernel's ephemeral range, for a process that is killed and started again on
 * the same port: an ephemeral port freed by the kill can be taken at once by any outgoing connection.
 */
export async function stablePort(): Promise<number> {
  let below = 32768;
  try {
    below = Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]) || below;
  } catch {
    // Not Linux: the usual default.
  }
  const from = Math.min(10_000, below - 1000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = from + Math.floor(Math.random() * (below - from));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below the ephemeral range');
}
