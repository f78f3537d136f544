// The ws-fanout baseline: bare amqplib consume -> ws broadcast of the same price_update, without PostgreSQL or the hub.
// Each tick is serialized once and the same bytes are sent to every subscribed client.
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { consumeTicks } from './tick-feed.js';

const http = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end());
const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });
const subscribers = new Set<WebSocket>();
wss.on('connection', (ws) => {
  ws.on('message', (raw) => {
    const msg = JSON.parse(raw.toString()) as { type: string; symbols?: string[] };
    if (msg.type !== 'subscribe') return;
    subscribers.add(ws);
    ws.send(JSON.stringify({ type: 'subscribed', symbols: msg.symbols ?? [], rejected: [] }));
  });
  ws.on('close', () => subscribers.delete(ws));
});

let seq = 0;
const disconnect = await consumeTicks((tick) => {
  const frame = Buffer.from(
    JSON.stringify({
      type: 'price_update',
      data: { [tick.symbol]: { price: tick.price, timestamp: tick.timestamp, source: tick.source } },
      cursor: String(++seq),
    }),
  );
  for (const ws of subscribers) ws.send(frame, { binary: false });
});

http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.once('SIGTERM', () => {
  for (const ws of subscribers) ws.terminate();
  void disconnect().finally(() => process.exit(0));
});
