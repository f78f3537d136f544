import type { Duplex } from 'node:stream';

/**
 * Open sockets per session id on this instance. A place is taken when the upgrade is admitted and given back when
 * its TCP connection closes, however that happens (client close, hub cut-off, a handshake that never completed).
 */
export class SessionSockets {
  private readonly open = new Map<string, number>();

  constructor(readonly maxPerSession: number) {}

  /** Takes a place for `connection` in session `sid`; false when the session already holds its most. */
  admit(sid: string, connection: Duplex): boolean {
    const held = this.open.get(sid) ?? 0;
    if (held >= this.maxPerSession) return false;
    this.open.set(sid, held + 1);
    connection.once('close', () => {
      const left = (this.open.get(sid) ?? 1) - 1;
      if (left > 0) this.open.set(sid, left);
      else this.open.delete(sid);
    });
    return true;
  }
}
