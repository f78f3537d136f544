// The Socket.IO peer of ws-fanout: what a user would write with Socket.IO — a room per symbol, each tick from the
// same amqplib feed emitted to its room as the same price_update (Socket.IO encodes a room broadcast once).
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { consumeTicks } from './tick-feed.js';

interface Subscribed {
  type: 'subscribed';
  symbols: string[];
  rejected: string[];
}

// Socket.IO takes the requests to its own path (/socket.io/) before this handler sees any.
const http = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end());
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
io.on('connection', (socket) => {
  socket.on('subscribe', (symbols: unknown, ack: unknown) => {
    const list = Array.isArray(symbols) ? symbols.filter((s): s is string => typeof s === 'string') : [];
    void socket.join(list);
    if (typeof ack === 'function')
      (ack as (r: Subscribed) => void)({ type: 'subscribed', symbols: list, rejected: [] });
  });
});

let seq = 0;
const disconnect = await consumeTicks((tick) => {
  io.to(tick.symbol).emit('price_update', {
    type: 'price_update',
    data: { [tick.symbol]: { price: tick.price, timestamp: tick.timestamp, source: tick.source } },
    cursor: String(++seq),
  });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.once('SIGTERM', () => {
  void io.close();
  void disconnect().finally(() => process.exit(0));
});
