// The Fastify peer of the gateway: what a user would write to put Fastify in front of one upstream —
// @fastify/http-proxy with @fastify/rate-limit on (its in-process store; the bench's limit is never reached).
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import rateLimit from '@fastify/rate-limit';

const upstream = process.env.UPSTREAM_URL;
if (!upstream) throw new Error('UPSTREAM_URL is required');
const app = Fastify({ logger: false });
await app.register(rateLimit, { max: 1_000_000_000, timeWindow: 60_000 });
await app.register(proxy, { upstream });
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
