// A trivial upstream for the gateway-overhead bench: the cheapest answer Fastify can give.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = { symbols: ['AAPL', 'MSFT', 'TSLA'] };
app.get('/health', async () => ({ status: 'ok' }));
app.get('/symbols', async () => body);
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
