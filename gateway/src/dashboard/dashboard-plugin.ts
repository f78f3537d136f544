import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { DashboardNotBuiltError, GatewayNoRouteError } from '@lizards/lib';

/** Where `pnpm build` (vite, gateway/dashboard) writes the dashboard; the same path from src/ and dist/. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Vite names built assets by content hash: they never change under the same URL.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// The page itself must be revalidated so a new build's asset names are picked up at once.
const REVALIDATE = 'no-cache';

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function loadSite(dir: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for (const path of await listFiles(dir)) {
    const body = await readFile(path);
    const urlPath = `/${relative(dir, path).split(sep).join('/')}`;
    files.set(urlPath, {
      body,
      type: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
    });
  }
  return files;
}

export interface DashboardOptions {
  /** Built dashboard folder (default: gateway/dashboard/dist). */
  dir?: string;
}

/**
 * Serves the built dashboard at `/` from memory (the build is small and fixed while the process runs):
 * hashed `/assets/*` immutable, everything else `no-cache` with an ETag, 304 on a matching If-None-Match.
 */
const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, opts) => {
  const dir = opts.dir ?? DASHBOARD_DIST;
  let files: Map<string, StaticFile>;
  try {
    files = await loadSite(dir);
  } catch (err) {
    app.log.warn({ err, dir }, 'dashboard not built (run pnpm build); / answers 503');
    files = new Map();
  }

  const send = (reply: FastifyReply, file: StaticFile, ifNoneMatch: string | undefined) => {
    reply
      .header('cache-control', file.cacheControl)
      .header('etag', file.etag)
      .header('x-content-type-options', 'nosniff');
    if (ifNoneMatch === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  };

  // The page, not the API: left out of the OpenAPI document.
  const page = { schema: { hide: true } };
  app.get('/', page, (request, reply) => {
    const index = files.get('/index.html');
    if (!index) throw new DashboardNotBuiltError();
    return send(reply, index, request.headers['if-none-match']);
  });

  for (const [path, file] of files) {
    if (path === '/index.html' || path.startsWith('/assets/')) continue;
    app.get(path, page, (request, reply) => send(reply, file, request.headers['if-none-match']));
  }

  app.get<{ Params: { '*': string } }>('/assets/*', page, (request, reply) => {
    const file = files.get(`/assets/${request.params['*']}`);
    if (!file) throw new GatewayNoRouteError(request.method, request.url.split('?')[0]!);
    return send(reply, file, request.headers['if-none-match']);
  });
};

export const dashboardPlugin = fp(dashboard, { name: 'lizards-dashboard', fastify: '5.x' });
