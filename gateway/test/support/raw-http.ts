import net from 'node:net';

/** Sends bytes exactly as given (no client-side path normalisation) and returns status, headers and body. */
export async function rawRequest(
  port: number,
  head: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve());
    socket.on('error', reject);
    socket.write(head.endsWith('\r\n\r\n') ? head : `${head}\r\n\r\n`);
  });
  const text = Buffer.concat(chunks).toString('latin1');
  const [headText, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...headerLines] = headText!.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = rest.join('\r\n\r\n');
  if (headers['transfer-encoding'] === 'chunked') {
    let out = '';
    let remaining = body;
    for (;;) {
      const lineEnd = remaining.indexOf('\r\n');
      const size = Number.parseInt(remaining.slice(0, lineEnd), 16);
      if (!size) break;
      out += remaining.slice(lineEnd + 2, lineEnd + 2 + size);
      remaining = remaining.slice(lineEnd + 2 + size + 2);
    }
    body = out;
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body };
}
