import net from 'node:net';

/**
 * Sends an HTTP/1.1 request head (request line and headers, CRLF-separated) byte for byte to 127.0.0.1:`port`,
 * with `body` after it, so the path reaches the server exactly as spelled (no client-side normalisation).
 * Returns the status code (0 if none) and the raw answer.
 */
export function rawStatus(port: number, head: string, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const length = body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : '';
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`${head}\r\n${length}Connection: close\r\n\r\n${body}`),
    );
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
  });
}
