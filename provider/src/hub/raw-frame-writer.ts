import * as ws from 'ws';
import type { WebSocket } from 'ws';

/** The connection under a WebSocket (the upgraded request's socket), for writing ready-made frames. */
export interface FrameStream {
  write(chunk: Buffer): boolean;
}

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
type Frame = (data: Buffer, options: FrameOptions) => Buffer[];

const TEXT_OPCODE = 1;
const TEXT_OPTIONS: FrameOptions = { fin: true, rsv1: false, opcode: TEXT_OPCODE, mask: false, readOnly: true };

let checked: { frame: Frame } | { reason: string } | undefined;

function checkFrame(): { frame: Frame } | { reason: string } {
  const frame = (ws as unknown as { Sender?: { frame?: unknown } }).Sender?.frame;
  if (typeof frame !== 'function') return { reason: 'ws no longer exports Sender.frame' };
  const bound = frame as Frame;
  const known: [Buffer, Buffer][] = [
    [Buffer.from('hi'), Buffer.from([0x81, 0x02, 0x68, 0x69])],
    [Buffer.alloc(200, 0x61), Buffer.concat([Buffer.from([0x81, 0x7e, 0x00, 0xc8]), Buffer.alloc(200, 0x61)])],
  ];
  for (const [payload, expected] of known) {
    let got: Buffer;
    try {
      got = Buffer.concat(bound(payload, TEXT_OPTIONS));
    } catch (err) {
      return { reason: `ws Sender.frame failed: ${(err as Error).message}` };
    }
    if (!got.equals(expected)) return { reason: 'ws Sender.frame no longer builds a plain RFC 6455 text frame' };
  }
  return { frame: bound };
}

function frameSupport(): { frame: Frame } | { reason: string } {
  return (checked ??= checkFrame());
}

/** The unmasked text frame carrying `payload`, as `ws` frames it; only once `RawFrameWriter.over` gave a writer. */
export function textFrame(payload: Buffer): Buffer {
  const support = frameSupport();
  if (!('frame' in support)) throw new Error(support.reason);
  return Buffer.concat(support.frame(payload, TEXT_OPTIONS));
}

/**
 * Writes ready-made frames to the connection under one `ws` socket, in order with what `ws` itself sends.
 *
 * Writing one serialized update's frame straight to each client's connection, past `ws`, relies on
 * internals of `ws` that its types do not declare:
 * - `Sender.frame` builds a frame exactly as `ws` would (checked on first use against known frames);
 * - a `ws` socket's `_socket` is the connection it writes to, and without extensions it writes each
 *   frame synchronously, so its own frames and ours keep their order;
 * - `bufferedAmount` counts that connection's write buffer, so raw writes count against a client's bound.
 * Where a check fails the client is sent to through `ws` instead (`over` says why). The test
 * `raw-frame-writer.test.ts` pins all three to the installed `ws`.
 */
export class RawFrameWriter {
  private constructor(
    private readonly socket: WebSocket,
    private readonly stream: FrameStream,
  ) {}

  /** A writer for `socket`, or why frames cannot go past `ws` on it (then they are sent through `ws`). */
  static over(socket: WebSocket, stream: FrameStream): RawFrameWriter | string {
    const support = frameSupport();
    if (!('frame' in support)) return support.reason;
    // With permessage-deflate ws compresses, and may queue, what it sends: frames are its job then.
    if (socket.extensions !== '') return `ws extensions in use (${socket.extensions})`;
    const underlying = (socket as unknown as { _socket?: unknown })._socket;
    if (underlying !== stream) return 'the stream is not the one ws writes to';
    return new RawFrameWriter(socket, stream);
  }

  /** False once the socket is closing: a frame then would follow ws's close frame. */
  get writable(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  write(frames: Buffer): void {
    this.stream.write(frames);
  }
}
