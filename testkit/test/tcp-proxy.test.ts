import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from '../src/tcp-proxy.js';

/** A client through the proxy to an echo server: what it sent comes back, through the proxy both ways. */
function connect(port: number): { socket: net.Socket; received: () => string; error: () => string | undefined } {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  let error: string | undefined;
  socket.on('data', (d) => (text += d.toString()));
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code));
  return { socket, received: () => text, error: () => error };
}

const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('TcpProxy', () => {
  let echo: net.Server;
  let proxy: TcpProxy;

  beforeAll(async () => {
    echo = net.createServer((s) => s.on('error', () => s.destroy()).pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy('127.0.0.1', (echo.address() as net.AddressInfo).port);
    await proxy.start();
  });

  afterAll(async () => {
    await proxy.stop();
    echo.close();
  });

  it('when latency is set, then every chunk arrives that much later, in order', async () => {
    const c = connect(proxy.port);
    c.socket.write('a');
    await until(() => c.received() === 'a');
    proxy.setLatency(150);
    const sentAt = Date.now();
    for (const ch of 'bcdef') c.socket.write(ch);
    await until(() => c.received() === 'abcdef');
    // Held once on the way there and once on the way back.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(290);
    proxy.setLatency(0);
    c.socket.destroy();
  });

  it('when stalled, then nothing passes and the connection stays open until it flows again', async () => {
    const c = connect(proxy.port);
    c.socket.write('x');
    await until(() => c.received() === 'x');
    proxy.stall();
    c.socket.write('y');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.received()).toBe('x');
    expect(c.socket.destroyed).toBe(false);
    proxy.flow();
    await until(() => c.received() === 'xy');
    c.socket.destroy();
  });

  it('when reset, then open connections are aborted with an RST and new ones are accepted', async () => {
    const c = connect(proxy.port);
    c.socket.write('1');
    await until(() => c.received() === '1');
    expect(proxy.upstreamPorts()).toHaveLength(1);
    proxy.reset();
    await until(() => c.error() === 'ECONNRESET');
    const d = connect(proxy.port);
    d.socket.write('2');
    await until(() => d.received() === '2');
    d.socket.destroy();
  });
});
