import createError from '@fastify/error';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidJsonError, useHttpErrors, withHeaders } from '@lizards/lib';

const FullError = createError('LZ_ERR_TEST_FULL', 'Full at %d', 503);
const apps: FastifyInstance[] = [];

function app(opts: Parameters<typeof useHttpErrors>[1] = {}): FastifyInstance {
  const a = Fastify({ logger: false, bodyLimit: 64 });
  apps.push(a);
  useHttpErrors(a, opts);
  a.get('/full', async () => {
    throw withHeaders(new FullError(3), { 'retry-after': '15' });
  });
  a.get('/bug', async () => {
    throw new Error('connection to 10.0.0.7:5432 refused');
  });
  a.get('/teapot', async () => {
    throw Object.assign(new Error('short and stout'), { statusCode: 418 });
  });
  a.post(
    '/json',
    {
      schema: {
        body: { type: 'object', required: ['port'], properties: { port: { type: 'integer', maximum: 65535 } } },
      },
    },
    async () => ({}),
  );
  a.post('/strict', async () => {
    throw new InvalidJsonError('Unexpected token');
  });
  return a;
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('useHttpErrors: one body shape {statusCode, error, code, message[, field]}', () => {
  it(
    'when a route throws one of our errors, then its status, STATUS_CODES text, code, message and the headers ' +
      'it carries',
    async () => {
      const res = await app().inject('/full');
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('15');
      expect(res.json()).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'LZ_ERR_TEST_FULL',
        message: 'Full at 3',
      });
    },
  );

  it('when a route fails unexpectedly, then 500 without the internal message', async () => {
    const res = await app().inject('/bug');
    expect(res.json()).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      code: 'LZ_ERR_INTERNAL',
      message: 'Internal error',
    });
  });

  it('when an error has a 4xx status and no code, then its status text and a generic code', async () => {
    const res = await app().inject('/teapot');
    expect(res.json()).toEqual({
      statusCode: 418,
      error: "I'm a Teapot",
      code: 'LZ_ERR_REQUEST',
      message: 'short and stout',
    });
  });

  it('when no route matches, then 404 LZ_ERR_NO_ROUTE naming the method and path (without the query)', async () => {
    const res = await app().inject('/nothing?x=1');
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'LZ_ERR_NO_ROUTE',
      message: 'No route GET /nothing',
    });
  });

  it('when the app names its own no-route error, then that one', async () => {
    const GatewayNoRoute = createError('LZ_ERR_X_NO_ROUTE', 'No route %s %s', 404);
    const res = await app({ noRoute: (method, path) => new GatewayNoRoute(method, path) }).inject({
      method: 'DELETE',
      url: '/x',
    });
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'LZ_ERR_X_NO_ROUTE',
      message: 'No route DELETE /x',
    });
  });

  it('when the body fails its schema, then 400 naming the field, with the hint the app gives for it', async () => {
    const missing = await app().inject({ method: 'POST', url: '/json', payload: {} });
    expect(missing.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'FST_ERR_VALIDATION',
      message: 'body.port is required',
      field: 'port',
    });
    const hinted = await app({ fieldHints: { port: 'must be a port 1-65535' } }).inject({
      method: 'POST',
      url: '/json',
      payload: { port: 70000 },
    });
    expect(hinted.json()).toMatchObject({
      statusCode: 400,
      message: 'body.port must be a port 1-65535',
      field: 'port',
    });
  });

  it('when the body is not JSON or too large, then 400 or 413 with field body', async () => {
    const a = app();
    const bad = await a.inject({
      method: 'POST',
      url: '/json',
      headers: { 'content-type': 'application/json' },
      payload: '{',
    });
    expect(bad.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      field: 'body',
    });
    const ours = await a.inject({ method: 'POST', url: '/strict' });
    expect(ours.json()).toMatchObject({
      statusCode: 400,
      code: 'LZ_ERR_INVALID_JSON',
      message: 'body: must be valid JSON (Unexpected token)',
      field: 'body',
    });
    const large = await a.inject({ method: 'POST', url: '/json', payload: { port: 1, pad: 'x'.repeat(100) } });
    expect(large.json()).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
      message: 'body: larger than the limit of 64 bytes',
      field: 'body',
    });
  });
});
