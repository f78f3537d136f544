import type { ConnectionState } from '@lizards/client';
import { $ } from './formats.js';

type Shown = 'connecting' | 'live' | 'reconnecting' | 'offline';

const TEXT: Record<Shown, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** The header's connection pill; `announce` tells screen readers when the connection is lost and back. */
export class ConnectionStatus {
  private shown: Shown = 'connecting';

  constructor(private readonly announce: (text: string) => void) {}

  show(state: ConnectionState, detail: string): void {
    const shown: Shown =
      state === 'open' ? 'live' : state === 'connecting' ? 'connecting' : navigator.onLine ? 'reconnecting' : 'offline';
    const el = $('connection');
    el.dataset.state = shown;
    el.title = detail;
    $('connection-text').textContent = shown === 'live' && detail !== 'connected' ? `Live · ${detail}` : TEXT[shown];
    if (shown !== this.shown) {
      if (shown === 'reconnecting' || shown === 'offline') this.announce(`Connection lost (${detail}); reconnecting`);
      else if (shown === 'live' && this.shown !== 'connecting') this.announce('Live again; missed prices resumed');
    }
    this.shown = shown;
  }
}
