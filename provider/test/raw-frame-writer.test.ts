import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '@lizards/testkit';
import { RawFrameWriter, textFrame } from '../src/hub/raw-frame-writer.js';

// Pinned: the writer leans on internals of this major version of ws; a new one must pass these tests first.
const wsVersion = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;

const servers: WebSocketServer[] = [];
const sockets: WebSocket[] = [];

/** A ws server as the hub's route sets it up, and one client connected to it. */
async function connect(perMessageDeflate = false) {
  const server = new WebSocketServer({ port: 0, perMessageDeflate });
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const accepted = new Promise<[WebSocket, IncomingMessage]>((resolve) =>
    server.once('connection', (socket, request) => resolve([socket, request])),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as { port: number }).port}`, { perMessageDeflate });
  sockets.push(client);
  const received: { text: string; isBinary: boolean }[] = [];
  client.on('message', (data, isBinary) => received.push({ text: (data as Buffer).toString('utf8'), isBinary }));
  await new Promise((resolve) => client.once('open', resolve));
  const [socket, request] = await accepted;
  return { socket, stream: request.socket, client, received };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe(`raw frames beneath ws ${wsVersion}`, () => {
  it('when the installed ws is checked, then it is the major version these tests pin', () => {
    expect(wsVersion).toMatch(/^8\./);
  });

  it('when a text is framed, then the frame is the plain unmasked RFC 6455 text frame', () => {
    expect(textFrame(Buffer.from('hi'))).toEqual(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    const medium = textFrame(Buffer.alloc(300, 0x61));
    expect(medium.subarray(0, 4)).toEqual(Buffer.from([0x81, 0x7e, 0x01, 0x2c]));
    const large = textFrame(Buffer.alloc(70_000, 0x61));
    expect(large.subarray(0, 10)).toEqual(Buffer.from([0x81, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]));
    expect(large.length).toBe(70_010);
  });

  it('when frames are written raw between sends through ws, then a ws client gets the texts in order', async () => {
    const { socket, stream, received } = await connect();
    const writer = RawFrameWriter.over(socket, stream);
    if (typeof writer === 'string') throw new Error(writer);
    const texts = ['first', 'second', 'x'.repeat(300), 'é'.repeat(40_000), 'fifth', '{"type":"price_update"}'];
    socket.send(texts[0]!);
    writer.write(textFrame(Buffer.from(texts[1]!)));
    socket.send(texts[2]!);
    writer.write(Buffer.concat([textFrame(Buffer.from(texts[3]!)), textFrame(Buffer.from(texts[4]!))]));
    socket.send(texts[5]!);
    await waitFor(() => received.length === texts.length, 5000, 'every message');
    expect(received).toEqual(texts.map((text) => ({ text, isBinary: false })));
  });

  it('when a raw write waits in the connection, then ws counts it in bufferedAmount', async () => {
    const { socket, stream, client } = await connect();
    const writer = RawFrameWriter.over(socket, stream);
    if (typeof writer === 'string') throw new Error(writer);
    client.pause();
    const frame = textFrame(Buffer.alloc(16 * 1024 * 1024, 0x61));
    expect(socket.bufferedAmount).toBe(0);
    writer.write(frame);
    expect((stream as Socket).writableLength).toBeGreaterThan(0);
    expect(socket.bufferedAmount).toBe((stream as Socket).writableLength);
  });

  it('when the socket is closing, then the writer says it is not writable', async () => {
    const { socket, stream } = await connect();
    const writer = RawFrameWriter.over(socket, stream);
    if (typeof writer === 'string') throw new Error(writer);
    expect(writer.writable).toBe(true);
    socket.close(1000);
    expect(writer.writable).toBe(false);
  });

  it('when permessage-deflate is in use, then frames are left to ws', async () => {
    const { socket, stream } = await connect(true);
    expect(RawFrameWriter.over(socket, stream)).toMatch(/extensions/);
  });

  it('when the stream is not the connection ws writes to, then frames are left to ws', async () => {
    const { socket } = await connect();
    expect(RawFrameWriter.over(socket, { write: () => true })).toMatch(/not the one ws writes to/);
  });
});
