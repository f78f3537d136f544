import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { secretParts } from '@lizards/testkit';

/** The message loadConfig throws for `env`. */
function configError(schema: Parameters<typeof loadConfig>[0], env: Record<string, string>): string {
  try {
    loadConfig(schema, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig: secrets in error messages', () => {
  it(
    'when SESSION_SECRET is too short, then the error names the variable and the rule but shows no part of the ' +
      'value',
    () => {
      const secret = 'Zq7vK2pX9wL4mN3';
      const message = configError(Type.Object({ SESSION_SECRET: Type.String({ minLength: 16 }) }), {
        SESSION_SECRET: secret,
      });
      expect(message).toMatch(/SESSION_SECRET: .*length greater or equal to 16/);
      expect(message).toContain('masked');
      expect(secretParts(message, secret)).toEqual([]);
    },
  );

  it.each([
    'INGEST_TOKEN',
    'provider_token',
    'DB_PASSWORD',
    'FINNHUB_API_KEY',
    'RATE_LIMIT_API_KEYS',
    'client_Secret_value',
  ])('when %s (a secret-named variable, any case) breaks its rule, then its value is masked', (name) => {
    const secret = 'Hq3-wR8yT1uI6oP0';
    const message = configError(Type.Object({ [name]: Type.String({ pattern: '^[a-z]+$' }) }), { [name]: secret });
    expect(message).toMatch(new RegExp(`^Invalid configuration: ${name}: Expected string to match`));
    expect(secretParts(message, secret)).toEqual([]);
  });

  it('when a URL with a password fails its pattern, then the error shows the URL without its userinfo', () => {
    const message = configError(Type.Object({ REDIS_URL: Type.String({ pattern: '^rediss?://' }) }), {
      REDIS_URL: 'http://lizards:Pw9-kD2xQ7@redis:6379/0',
    });
    expect(message).toMatch(/REDIS_URL: Expected string to match/);
    expect(message).toContain('http://***@redis:6379/0');
    expect(message).not.toContain('lizards');
    expect(secretParts(message, 'Pw9-kD2xQ7', 4)).toEqual([]);
  });

  it(
    'when any variable holds a URL with userinfo, then the userinfo is masked, even when the password holds @ ' +
      'or /',
    () => {
      const message = configError(Type.Object({ POLL_INTERVAL_MS: Type.Integer() }), {
        POLL_INTERVAL_MS: 'amqp://user:p@ss/w0rd-Kx8@broker:5672/vhost',
      });
      expect(message).toContain('POLL_INTERVAL_MS');
      expect(message).toContain('amqp://***@broker:5672/vhost');
      expect(message).not.toMatch(/p@ss|w0rd|Kx8|user/);
    },
  );

  it('when a variable not named like a secret holds no URL, then its value is still shown, to help fix it', () => {
    expect(configError(Type.Object({ PORT: Type.Integer() }), { PORT: 'eighty' })).toContain('got "eighty"');
  });
});

describe('loadConfig: placeholder secrets', () => {
  const Secret = Type.Object({ SESSION_SECRET: Type.Optional(Type.String()) });

  it.each([
    'change-me-at-least-16-characters',
    'CHANGEME',
    'please_change_me',
    'replace-me',
    'placeholder-token',
    'example-secret-0123456789',
    'your-api-key',
    '<token>',
    'xxx',
    'XXXXXXXXXXXXXXXX',
    'TODO',
    'fixme-later',
    'secret',
    'Password1!',
    'admin',
    'admin123',
    'token',
    'default',
  ])('when a secret-named variable is %s, then the start is refused naming the variable, the value masked', (value) => {
    expect(configError(Secret, { SESSION_SECRET: value })).toBe(
      'Invalid configuration: SESSION_SECRET: looks like a placeholder; set a real secret (got a value, masked)',
    );
  });

  it('when one key of a secret list is a placeholder, then the start is refused', () => {
    expect(
      configError(Type.Object({ RATE_LIMIT_API_KEYS: Type.String() }), {
        RATE_LIMIT_API_KEYS: 'Tz4kq9LmW2, your-key-here',
      }),
    ).toMatch(/RATE_LIMIT_API_KEYS: looks like a placeholder/);
  });

  it(
    'when a URL carries a placeholder password, then the start is refused naming the variable, the userinfo ' +
      'masked',
    () => {
      const message = configError(Type.Object({ DATABASE_URL: Type.String() }), {
        DATABASE_URL: 'postgres://lizards:change-me-postgres@postgres:5432/lizards',
      });
      expect(message).toMatch(/DATABASE_URL: the password in the URL looks like a placeholder/);
      expect(message).toContain('postgres://***@postgres:5432/lizards');
      expect(message).not.toContain('change-me');
    },
  );

  it.each([
    'q0V6n1c7x_UbJx3tY8yZ2Ai4kP9mW5rE',
    'test-secret-0123456789abcdef',
    'lifecycle-token',
    'k1',
    'AVKEY-faults-5e1c9d',
    'changemedia-feed-7Gq2',
  ])('when a secret-named variable is %s, then it is accepted', (value) => {
    expect(loadConfig(Secret, { SESSION_SECRET: value }).SESSION_SECRET).toBe(value);
  });

  it(
    'when URLs carry a real password, none, or an example host, and other variables say example, then they are ' +
      'accepted',
    () => {
      const schema = Type.Object({
        AMQP_URL: Type.String(),
        REDIS_URL: Type.String(),
        HTML_URL: Type.String(),
        WS_ALLOWED_ORIGINS: Type.String(),
      });
      const env = {
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
        REDIS_URL: 'redis://:Fq8zK1wV3n@redis:6379',
        HTML_URL: 'https://example.com/quotes',
        WS_ALLOWED_ORIGINS: 'http://allowed.example',
      };
      expect(loadConfig(schema, env)).toEqual(env);
    },
  );
});
