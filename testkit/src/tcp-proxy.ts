import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that a test can cut (drop every connection, refuse new ones) and restore, slow down
 * (latency on every chunk, order kept), stall (nothing forwarded, connections held open) or reset (every open
 * connection aborted with an RST while new ones are still accepted).
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** The proxy's own sockets towards the target (their local ports name the connections at the target). */
  private readonly upstreams = new Set<net.Socket>();
  private latencyMs = 0;
  private stalled = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(port = 0): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.upstreams.add(upstream);
      upstream.on('close', () => this.upstreams.delete(upstream));
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
        if (this.stalled) s.pause();
      }
      this.forward(client, upstream);
      this.forward(upstream, client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Copies `from` to `to` with back-pressure, each chunk held `latencyMs` (in order) when latency is set. */
  private forward(from: net.Socket, to: net.Socket): void {
    const queue: { chunk: Buffer; due: number }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const write = (chunk: Buffer) => {
      if (to.write(chunk) || to.destroyed) return;
      from.pause();
      to.once('drain', () => this.stalled || from.resume());
    };
    const drain = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && queue[0]!.due <= now) write(queue.shift()!.chunk);
      if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - now);
    };
    from.on('data', (chunk: Buffer) => {
      if (this.latencyMs === 0 && queue.length === 0) return write(chunk);
      queue.push({ chunk, due: Date.now() + this.latencyMs });
      timer ??= setTimeout(drain, this.latencyMs);
    });
    from.on('end', () => to.end());
    from.on('close', () => clearTimeout(timer));
  }

  /** Holds every chunk `ms` before forwarding it (0: forward at once). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  /** Stops forwarding: open and new connections stay up, nothing passes, until `flow()`. */
  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.pause();
  }

  flow(): void {
    this.stalled = false;
    for (const s of this.sockets) s.resume();
  }

  /** Aborts every open connection with a TCP RST; new connections are accepted as before. */
  reset(): void {
    for (const s of this.sockets) s.resetAndDestroy();
  }

  /** The local ports of the proxy's open connections to the target. */
  upstreamPorts(): number[] {
    return [...this.upstreams].map((s) => s.localPort).filter((p): p is number => p !== undefined);
  }

  /** Drops every open connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    await this.start(this.port);
  }

  async stop(): Promise<void> {
    this.latencyMs = 0;
    this.stalled = false;
    await this.cut();
  }
}
