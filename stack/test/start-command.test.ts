import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { request } from 'undici';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { loadDataProcessor } from '@lizards/proto';
import { freePort, waitFor } from '@lizards/testkit';
import { descendants, isAlive, REPO_ROOT, spawnStack, type StackProcess } from './support/stack-process.js';

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const cli = spawn(process.execPath, ['stack/dist/cli.js', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    cli.once('exit', (code) => resolve({ code, stdout }));
  });
}

// PGlite's first start (WebAssembly, initdb) is the slow part; on an idle machine the banner comes well within 20 s.
const START_TIMEOUT_MS = 90_000;

describe('node stack/dist/start.js (pnpm start) with no backing-service URLs', () => {
  let stack: StackProcess;
  let gateway: string;
  let registry: string;

  beforeAll(async () => {
    const [gatewayPort, registryPort] = [await freePort(), await freePort()];
    gateway = `http://127.0.0.1:${gatewayPort}`;
    registry = `http://127.0.0.1:${registryPort}`;
    // The allow-list compose sets: the gateway's own origin. Browsers send it; the terminal client must too.
    stack = spawnStack({
      GATEWAY_PORT: String(gatewayPort),
      REGISTRY_PORT: String(registryPort),
      WS_ALLOWED_ORIGINS: gateway,
    });
    await waitFor(
      () => (stack.output().includes('Ctrl-C to stop') ? true : undefined),
      START_TIMEOUT_MS,
      `the banner; output so far:\n${stack.output()}`,
    );
  }, START_TIMEOUT_MS + 5000);

  afterAll(() => {
    if (stack.child.exitCode === null) stack.child.kill('SIGKILL');
  });

  it('when it is up, then the banner names the dashboard, the registry, the embedded services and a curl line', () => {
    const out = stack.output();
    expect(out).toContain(`dashboard  ${gateway}/`);
    expect(out).toContain(`registry   ${registry}/services/provider`);
    expect(out).toContain(`metrics    ${registry}/sd/prometheus`);
    expect(out).toMatch(/real\s+none/);
    expect(out).toMatch(
      new RegExp(
        String.raw`embedded\s+postgres \(PGlite\), rabbitmq \(in-process bus\), ` +
          String.raw`redis \(in-process LRU\), mongodb \(in-process raw store\)`,
      ),
    );
    expect(out).toContain(`curl ${gateway}/prices/AAPL`);
  });

  it(
    'when INGEST_TOKEN is unset, then the banner prints the gRPC ingest address and the token it made, and ' +
      'ProcessData takes calls with that token only',
    async () => {
      const address = new RegExp(
        String.raw`^ {2}ingest {5}grpc:\/\/(127\.0\.0\.1:\d+) ` +
          String.raw`\(calls need the metadata authorization: Bearer \$INGEST_TOKEN\)$`,
        'm',
      ).exec(stack.output())?.[1];
      const token = /^ {2}export {5}.*\bINGEST_TOKEN=(\S+)/m.exec(stack.output())?.[1];
      expect(address, stack.output()).toBeDefined();
      const { Client } = loadDataProcessor();
      const client = new Client(address!, grpc.credentials.createInsecure());
      const call = (authorization?: string) =>
        new Promise<{ code: number; accepted?: number }>((resolve) => {
          const metadata = new grpc.Metadata();
          if (authorization) metadata.set('authorization', authorization);
          const content = JSON.stringify({
            symbol: 'AAPL',
            price: 123.45,
            timestamp: new Date(Date.now() - 60_000).toISOString(),
          });
          client.ProcessData({ content }, metadata, (err, res) =>
            resolve(err ? { code: err.code } : { code: grpc.status.OK, accepted: res!.accepted }),
          );
        });
      try {
        expect(await call()).toEqual({ code: grpc.status.UNAUTHENTICATED });
        expect(await call(`Bearer ${token}`)).toEqual({ code: grpc.status.OK, accepted: 1 });
      } finally {
        client.close();
      }
    },
  );

  it(
    'when the registry is asked, then two providers, ingestion ' + '(HTTP and gRPC) and the gateway are registered',
    async () => {
      const res = await request(`${registry}/services/provider`);
      expect(res.statusCode).toBe(200);
      const body = (await res.body.json()) as { instance_count: number; instances: { port_number: string }[] };
      expect(body.instance_count).toBe(2);
      expect(new Set(body.instances.map((i) => i.port_number)).size).toBe(2);
      for (const id of ['gateway', 'ingestion', 'ingestion-grpc']) {
        const r = await request(`${registry}/services/${id}`);
        expect(r.statusCode, id).toBe(200);
        await r.body.dump();
      }
    },
  );

  it(
    'when no REGISTRY_TOKEN is set, then writes to its registry need the token the banner prints, and its own ' +
      'services hold it',
    async () => {
      const token = /^ {2}export {5}REGISTRY_TOKEN=(\S+)/m.exec(stack.output())?.[1];
      expect(token, stack.output()).toMatch(/^[\w-]{32,}$/);
      expect(stack.output()).toContain('-H "Authorization: Bearer $REGISTRY_TOKEN"');
      const body = JSON.stringify({
        name: 'readme-demo',
        ip_address: '127.0.0.1',
        port_number: '9000',
        protocol: 'http',
      });
      const refused = await request(`${registry}/services/demo`, { method: 'POST', body });
      expect(refused.statusCode).toBe(401);
      await refused.body.dump();
      const written = await request(`${registry}/services/demo`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(written.statusCode).toBe(200);
      const { instance_id } = (await written.body.json()) as { instance_id: string };
      const removed = await request(`${registry}/services/demo/${instance_id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(removed.statusCode).toBe(204);
      await removed.body.dump();
      // The stack's own services registered through the same closed door.
      const providers = await request(`${registry}/services/provider`);
      expect(((await providers.body.json()) as { instance_count: number }).instance_count).toBe(2);
    },
  );

  it(
    'when Prometheus discovers the parts, then each SD target is an admin listener serving /metrics, and the ' +
      "gateway's public port answers 404 for /metrics and /ready",
    async () => {
      const sd = (await (await request(`${registry}/sd/prometheus`)).body.json()) as {
        targets: string[];
        labels: { service: string };
      }[];
      expect(new Set(sd.map((g) => g.labels.service))).toEqual(
        new Set(['registry', 'gateway', 'ingestion', 'provider']),
      );
      for (const { targets, labels } of sd) {
        const res = await request(`http://${targets[0]}/metrics`);
        expect(res.statusCode, `${labels.service} ${targets[0]}`).toBe(200);
        expect(await res.body.text()).toContain(`service="${labels.service}"`);
      }
      for (const path of ['/metrics', '/ready']) {
        const res = await request(`${gateway}${path}`);
        expect(res.statusCode, path).toBe(404);
        await res.body.dump();
      }
    },
  );

  it(
    'when / and its assets are fetched from the gateway, ' + 'then the dashboard is served with caching headers',
    async () => {
      const page = await request(`${gateway}/`);
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.headers['cache-control']).toBe('no-cache');
      const html = await page.body.text();
      const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
      expect(script).toBeDefined();
      const asset = await request(`${gateway}${script}`);
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      await asset.body.dump();
      const again = await request(`${gateway}/`, { headers: { 'if-none-match': String(page.headers.etag) } });
      expect(again.statusCode).toBe(304);
      await again.body.dump();
    },
  );

  it('when /symbols and /prices/AAPL are fetched through the gateway, then the simulated market is there', async () => {
    const symbols = await waitFor(
      async () => {
        const res = await request(`${gateway}/symbols`);
        const body = (await res.body.json()) as { symbols?: string[] };
        return res.statusCode === 200 && body.symbols?.includes('AAPL') ? body.symbols : undefined;
      },
      20_000,
      '/symbols listing AAPL',
    );
    expect(symbols.length).toBeGreaterThan(10);
    const res = await request(`${gateway}/prices/AAPL`);
    expect(res.statusCode).toBe(200);
    const price = (await res.body.json()) as { symbol: string; price: number; source: string };
    expect(price).toMatchObject({ symbol: 'AAPL', source: 'simulated' });
    expect(price.price).toBeGreaterThan(0);
  });

  it(
    'when a client subscribes over the WebSocket through the gateway, then live price updates arrive within 20 ' + 's',
    async () => {
      const session = await request(`${gateway}/session`, { method: 'POST' });
      expect(session.statusCode).toBe(200);
      const { websocket_url } = (await session.body.json()) as { websocket_url: string };
      expect(websocket_url.startsWith(`ws://127.0.0.1:${new URL(gateway).port}/ws?token=`)).toBe(true);
      const ws = new WebSocket(websocket_url, { origin: gateway });
      const live: number[] = [];
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as {
          type: string;
          snapshot?: boolean;
          data?: Record<string, { price: number }>;
        };
        if (msg.type === 'price_update' && !msg.snapshot && msg.data?.AAPL) live.push(msg.data.AAPL.price);
      });
      await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
      ws.send(JSON.stringify({ type: 'subscribe', symbols: ['AAPL'] }));
      await waitFor(() => (live.length >= 2 ? true : undefined), 20_000, 'two live AAPL updates');
      ws.close();
    },
  );

  it('when `lizards services` runs against it, then the registry is printed', async () => {
    const { stdout, code } = await runCli(['services'], { REGISTRY_URL: registry });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^provider {2}\(2 instances\)$/m);
    expect(stdout).toMatch(/^ingestion-grpc {2}\(1 instance\)\n {2}grpc:\/\/127\.0\.0\.1:\d+/m);
    expect(stdout).toContain(`gateway  (1 instance)\n  http://127.0.0.1:${new URL(gateway).port}`);
  });

  it('when `lizards watch AAPL TSLA` runs against it, then live prices stream until SIGINT', async () => {
    const cli = spawn(process.execPath, ['stack/dist/cli.js', 'watch', 'AAPL', 'tsla'], {
      cwd: REPO_ROOT,
      env: { ...process.env, GATEWAY_URL: gateway },
    });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    const lines = (symbol: string) =>
      out
        .split('\n')
        .filter((l) =>
          new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  ${symbol} +[▲▼ ] +\\d+\\.\\d\\d +[+-]\\d+\\.\\d\\d`).test(l),
        );
    await waitFor(
      () => (lines('AAPL').length >= 3 && lines('TSLA').length >= 3 ? true : undefined),
      20_000,
      `streamed prices; got:\n${out}`,
    );
    cli.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('when `lizards watch` sets an alert, then it prints the ALERT line once the price crosses it', async () => {
    const cli = spawn(process.execPath, ['stack/dist/cli.js', 'watch', 'TSLA', '--above', 'AAPL=0.01'], {
      cwd: REPO_ROOT,
      env: { ...process.env, GATEWAY_URL: gateway },
    });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    const alertLine = /^\d\d:\d\d:\d\d\.\d{3} {2}ALERT {2}AAPL \d+\.\d\d \(at or above 0\.01\)$/m;
    await waitFor(() => (alertLine.test(out) ? true : undefined), 20_000, `an ALERT line; got:\n${out}`);
    cli.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.match(/ALERT/g)).toHaveLength(1);

    const refused = await runCli(['watch', 'AAPL', '--above', 'AAPL'], { GATEWAY_URL: gateway });
    expect(refused.code).toBe(2);
  });

  it('when it gets SIGINT, then every part stops, it exits 0 and leaves no process behind', async () => {
    const pid = stack.child.pid!;
    const below = descendants(pid);
    stack.child.kill('SIGINT');
    const { code, signal } = await stack.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stack.output()).toContain('stopped.');
    expect(isAlive(pid)).toBe(false);
    expect(below.filter(isAlive)).toEqual([]);
    expect(descendants(pid)).toEqual([]);
  }, 30_000);
});

describe('node stack/dist/start.js --real', () => {
  it(
    'when the backing-service URLs are not set, then it ' + 'refuses to start with a clear message and exits 1',
    async () => {
      const stack = spawnStack({ GATEWAY_PORT: String(await freePort()), REGISTRY_PORT: String(await freePort()) }, [
        '--real',
      ]);
      const { code } = await stack.exited;
      expect(code).toBe(1);
      expect(stack.output()).toContain('--real: DATABASE_URL, AMQP_URL, REDIS_URL not set');
    },
  );

  it('when a URL is set but nothing answers there, then it refuses to start naming that URL and exits 1', async () => {
    const dead = await freePort();
    const stack = spawnStack(
      {
        GATEWAY_PORT: String(await freePort()),
        REGISTRY_PORT: String(await freePort()),
        DATABASE_URL: `postgres://postgres:Kq7vW2x9@127.0.0.1:${dead}/test`,
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
        REDIS_URL: 'redis://127.0.0.1:6379',
        BACKING_PROBE_TIMEOUT_MS: '2000',
      },
      ['--real'],
    );
    const { code } = await stack.exited;
    expect(code).toBe(1);
    const out = stack.output();
    expect(out).toContain(`DATABASE_URL=postgres://postgres:***@127.0.0.1:${dead}/test (postgres) does not answer`);
    expect(out).not.toContain('Kq7vW2x9');
  });
});
