import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import asyncApiSpecs from '@asyncapi/specs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { clientMessageSchemas, serverMessageSchemas } from '@lizards/contract';
import { buildGatewayApp } from '../src/app.js';
import { GatewayConfig } from '../src/config.js';
import { dashboardPlugin } from '../src/dashboard/dashboard-plugin.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown>; description?: string }>> };
type AsyncApi = {
  channels: { live: { address: string; messages: Record<string, unknown> } };
  operations: Record<string, { action: string }>;
  components: { schemas: Record<string, unknown> };
};

const json = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as unknown;

function gateway(env: Record<string, string> = {}): FastifyInstance {
  return buildGatewayApp({
    config: loadConfig(GatewayConfig, { LOG_LEVEL: 'silent', ...env }),
    registry: { watch: async () => ({ index: 1, instances: [] }) },
    logger: false,
  });
}

/** Every local `$ref` in a document that does not point at something in it. */
function danglingRefs(doc: unknown): string[] {
  const dangling: string[] = [];
  const resolve = (ref: string) =>
    ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
  const walk = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const local = key === '$ref' && typeof value === 'string' && value.startsWith('#/');
      if (local && resolve(value) === undefined) dangling.push(value);
      else if (!local) walk(value);
    }
  };
  walk(doc);
  return dangling;
}

describe('the API docs at /docs', () => {
  let app: FastifyInstance;
  let site: string;

  beforeAll(async () => {
    // A built dashboard of its own: / and /docs are served side by side whether or not `pnpm build` ran.
    site = mkdtempSync(join(tmpdir(), 'lz-docs-site-'));
    writeFileSync(join(site, 'index.html'), '<!doctype html><h1>dashboard</h1>');
    app = buildGatewayApp({
      config: loadConfig(GatewayConfig, { LOG_LEVEL: 'silent' }),
      registry: { watch: async () => ({ index: 1, instances: [] }) },
      logger: false,
      site: async (scope) => scope.register(dashboardPlugin, { dir: site }),
    });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    rmSync(site, { recursive: true, force: true });
  });

  describe('GET /docs', () => {
    it('when opened, then Swagger UI is served, its assets from the package, beside the dashboard at /', async () => {
      const page = await app.inject('/docs');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body).toContain('swagger-ui-bundle.js');
      const initializer = await app.inject('/docs/static/swagger-initializer.js');
      expect(initializer.body).toContain('json');
      const bundle = await app.inject('/docs/static/swagger-ui-bundle.js');
      expect(bundle.statusCode).toBe(200);
      expect(bundle.body.length).toBeGreaterThan(100_000);
      const home = await app.inject('/');
      expect(home.body).toContain('<h1>dashboard</h1>');
    });

    it('when the documents are fetched, then they are never reused unchecked; assets revalidate by ETag', async () => {
      for (const url of ['/docs', '/docs/json', '/docs/yaml', '/docs/asyncapi.json']) {
        expect((await app.inject(url)).headers['cache-control'], url).toBe('no-cache');
      }
      const css = await app.inject('/docs/static/swagger-ui.css');
      expect(css.headers['cache-control']).toBe('public, max-age=0');
      const etag = String(css.headers.etag);
      const again = await app.inject({ url: '/docs/static/swagger-ui.css', headers: { 'if-none-match': etag } });
      expect(again.statusCode).toBe(304);
    });
  });

  describe('GET /docs/json', () => {
    let doc: Doc;
    beforeAll(async () => {
      doc = (await app.inject('/docs/json')).json<Doc>();
    });

    it('when validated, then it is a valid OpenAPI 3.1 document whose references all resolve', async () => {
      const validator = new Validator();
      const result = await validator.validate(doc as never);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
      expect(validator.version).toBe('3.1');
      expect(danglingRefs(doc)).toEqual([]);
    });

    it('when compared with the route table, then every route and method the gateway routes is documented', () => {
      for (const route of app.gateway.routes) {
        const prefix = route.path.endsWith('/*') ? route.path.slice(0, -1) : undefined;
        const documented = Object.keys(doc.paths).filter((p) => (prefix ? p.startsWith(prefix) : p === route.path));
        expect(documented, route.path).not.toEqual([]);
        for (const path of documented) {
          for (const method of route.methods) {
            expect(doc.paths[path]![method.toLowerCase()], `${method} ${path}`).toBeDefined();
          }
        }
      }
    });

    it("when a proxied route is documented, then it has its service's parameters and answers and its own", () => {
      const history = doc.paths['/prices/{symbol}/history']!.get as unknown as {
        parameters: { name: string; in: string }[];
        responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
        description: string;
      };
      expect(history.parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
        'path:symbol',
        'query:cursor',
        'query:from',
        'query:limit',
        'query:to',
      ]);
      const page = history.responses['200']!.content!['application/json']!.schema;
      expect(Object.keys(page.properties!)).toEqual(['symbol', 'from', 'to', 'prices', 'next']);
      expect(Object.keys(history.responses).sort()).toEqual(['200', '400', '404', '429', '502', '503', '504']);
      expect(history.description).toContain('rate-limit group `default`');
      expect(Object.keys(doc.paths['/ws']!.get!.responses)).toContain('101');
      expect(Object.keys(doc.paths['/session']!.post!.responses)).toContain('200');
      const pages = Object.keys(doc.paths).filter((p) => p.startsWith('/docs') || p === '/' || p.startsWith('/assets'));
      expect(pages).toEqual([]);
    });

    it('when GATEWAY_ROUTES adds a route to a service the docs do not know, then it is generic', async () => {
      const added = [{ path: '/quotes/*', methods: ['GET'], service: 'quotes', summary: 'Quotes' }];
      const other = gateway({ GATEWAY_ROUTES: JSON.stringify(added) });
      try {
        const paths = (await other.inject('/docs/json')).json<Doc>().paths;
        expect(paths['/quotes/{*}']!.get!.responses).toHaveProperty('503');
      } finally {
        await other.close();
      }
    });
  });

  describe('GET /docs/asyncapi.json', () => {
    let doc: AsyncApi;
    beforeAll(async () => {
      const res = await app.inject('/docs/asyncapi.json');
      expect(res.statusCode).toBe(200);
      doc = res.json<AsyncApi>();
    });

    it('when validated, then it is a valid AsyncAPI 3.0 document whose references all resolve', () => {
      // The AsyncAPI schema carries its own copy of the draft-07 meta-schema: Ajv's would be a second one.
      const ajv = new Ajv({ strict: false, allErrors: true, meta: false, validateSchema: false });
      ajvFormats.default(ajv);
      const validate = ajv.compile(asyncApiSpecs.schemas['3.0.0']);
      expect(validate(doc) ? [] : validate.errors).toEqual([]);
      expect(danglingRefs(doc)).toEqual([]);
      expect(doc.channels.live.address).toBe('/ws');
    });

    it("when compared with the contract, then its client messages are the contract's schemas", () => {
      // That the hub decodes exactly these: provider/test/client-messages.test.ts.
      for (const [type, schema] of Object.entries(clientMessageSchemas)) {
        expect(doc.components.schemas[type], type).toEqual(json(schema));
        expect(doc.operations[`send-${type}`]?.action).toBe('send');
      }
    });

    it("when compared with the contract, then its server messages are the contract's schemas", () => {
      for (const [type, schema] of Object.entries(serverMessageSchemas)) {
        expect(doc.components.schemas[type], type).toEqual(json(schema));
        expect(doc.operations[`receive-${type}`]?.action).toBe('receive');
      }
      const all = [...Object.keys(clientMessageSchemas), ...Object.keys(serverMessageSchemas)].sort();
      expect(Object.keys(doc.channels.live.messages).sort()).toEqual(all);
    });
  });

  describe('rate limits', () => {
    it('when the docs group is spent, then the docs answer 429 while the API keeps its own budget', async () => {
      const limited = gateway({ RATE_LIMIT_GROUPS: JSON.stringify({ docs: { max: 2, windowMs: 60_000 } }) });
      try {
        expect((await limited.inject('/docs')).statusCode).toBe(200);
        expect((await limited.inject('/docs/json')).statusCode).toBe(200);
        const refused = await limited.inject('/docs/static/swagger-ui.css');
        expect(refused.statusCode).toBe(429);
        expect(refused.headers['retry-after']).toBeDefined();
        // No instance is known: 503 from the proxy, not 429 from the limiter.
        expect((await limited.inject('/symbols')).statusCode).toBe(503);
      } finally {
        await limited.close();
      }
    });
  });
});
