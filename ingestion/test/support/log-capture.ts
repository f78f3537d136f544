import { Writable } from 'node:stream';
import { loggerOptions } from '@lizards/lib';
import type { FastifyServerOptions } from 'fastify';

/** Captures the service's JSON log lines (the real pino logger with the real redaction), for assertions. */
export class LogCapture {
  readonly lines: string[] = [];
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(line);
      done();
    },
  });

  logger(level = 'debug'): FastifyServerOptions['logger'] {
    return {
      ...(loggerOptions({ level, service: 'ingestion' }) as object),
      stream: this.stream,
    } as FastifyServerOptions['logger'];
  }

  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  text(): string {
    return this.lines.join('\n');
  }
}
