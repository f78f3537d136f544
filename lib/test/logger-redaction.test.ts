import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { loggerOptions, redactUrl } from '@lizards/lib';

describe('redactUrl', () => {
  it('when a url carries secrets in its query, then their values are replaced', () => {
    expect(redactUrl('/ws?token=abc.def&x=1')).toBe('/ws?token=[redacted]&x=1');
    expect(redactUrl('/q?symbol=IBM&apikey=SECRET')).toBe('/q?symbol=IBM&apikey=[redacted]');
    expect(redactUrl('/plain')).toBe('/plain');
  });
});

describe('loggerOptions', () => {
  it('when a request carries a token and an authorization header, then neither reaches the log', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const app = Fastify({ logger: { ...(loggerOptions({ level: 'info', service: 'test' }) as object), stream } });
    app.get('/ws', async (request) => {
      request.log.info({ token: 'super-secret-token', apiKey: 'KEY123' }, 'handled');
      return { ok: true };
    });
    await app.inject({ url: '/ws?token=super-secret-token', headers: { authorization: 'Bearer hunter2' } });
    await app.close();
    const log = lines.join('');
    expect(log).toContain('"service":"test"');
    expect(log).toContain('/ws?token=[redacted]');
    expect(log).not.toContain('super-secret-token');
    expect(log).not.toContain('KEY123');
    expect(log).not.toContain('hunter2');
  });
});
