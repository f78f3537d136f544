import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { startService, waitFor } from '@lizards/testkit';
import { RegistryConfig } from '../src/config.js';
import { appOptionsFromConfig } from '../src/config-options.js';
import { DEFAULT_LIMITS } from '../src/registry-limits.js';

const options = (env: Record<string, string>) => appOptionsFromConfig(loadConfig(RegistryConfig, env));

describe('the registry without REGISTRY_TOKEN', () => {
  it.each(['0.0.0.0', '::', '10.0.0.5', '192.168.1.20', 'registry.internal', '::ffff:10.0.0.1'])(
    'when HOST is %s (reachable from elsewhere), then it refuses to start, naming REGISTRY_TOKEN',
    (host) => {
      expect(() => options({ HOST: host })).toThrow(/REGISTRY_TOKEN: required when HOST/);
    },
  );

  it.each(['127.0.0.1', '127.3.2.1', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LocalHost'])(
    'when HOST is %s (loopback only), then it starts with open writes',
    (host) => {
      expect(options({ HOST: host })).toMatchObject({ token: undefined, serviceTokens: {} });
    },
  );

  it('when HOST is a wildcard and REGISTRY_TOKEN is set, then it starts with writes behind the token', () => {
    expect(options({ HOST: '0.0.0.0', REGISTRY_TOKEN: 'a-token-for-the-test' })).toMatchObject({
      token: 'a-token-for-the-test',
    });
  });

  it(
    'when only per-service tokens are set on a wildcard HOST, then it still refuses (the admin token is what ' +
      'makes writes closed by default)',
    () => {
      expect(() => options({ HOST: '0.0.0.0', REGISTRY_SERVICE_TOKENS: 'provider=p-token' })).toThrow(
        /REGISTRY_TOKEN: required/,
      );
    },
  );

  it(
    'when started as a process on 0.0.0.0 without REGISTRY_TOKEN, then it exits 1 with a message naming ' +
      'REGISTRY_TOKEN and never listens',
    async () => {
      const registryDir = fileURLToPath(new URL('..', import.meta.url));
      const registry = startService('registry', 'dist/server.js', registryDir, {
        HOST: '0.0.0.0',
        PORT: '0',
        LOG_LEVEL: 'info',
      });
      try {
        const outcome = await waitFor(
          () =>
            registry.child.exitCode !== null
              ? 'exited'
              : registry.lines.some((l) => l.msg === 'registry ready')
                ? 'listening'
                : undefined,
          15_000,
          'the registry to exit or listen',
        );
        expect(outcome).toBe('exited');
        expect(await registry.exited).toBe(1);
        expect(registry.stderr()).toContain('REGISTRY_TOKEN');
      } finally {
        await registry.stop(1000);
      }
    },
  );
});

describe('REGISTRY_SERVICE_TOKENS', () => {
  it('when it lists service-id=token pairs, then each service gets its token, one token may serve several ids', () => {
    const parsed = options({
      REGISTRY_TOKEN: 'reg-admin-7Qx2vL9w',
      REGISTRY_SERVICE_TOKENS: ' provider=p-tok , ingestion=i-tok,ingestion-grpc=i-tok,eq=a=b ',
    });
    expect(parsed.serviceTokens).toEqual({
      provider: 'p-tok',
      ingestion: 'i-tok',
      'ingestion-grpc': 'i-tok',
      eq: 'a=b',
    });
  });

  it.each([
    ['an entry without "="', 'provider=p-secret-1,s3cr3t-alone', /entry 2 is not <service-id>=<token>/],
    ['an empty token', 'provider=', /entry 1 is not <service-id>=<token>/],
    ['a malformed service id', 'Provider=p-secret-1', /"Provider" is not a service id/],
    ['a service listed twice', 'provider=p-secret-1,provider=p-secret-2', /provider is listed twice/],
  ])(
    'when it has %s, then the start is refused naming the variable and not echoing any token',
    (_what, value, message) => {
      let error: Error | undefined;
      try {
        options({ REGISTRY_TOKEN: 'reg-admin-7Qx2vL9w', REGISTRY_SERVICE_TOKENS: value });
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message).toMatch(/REGISTRY_SERVICE_TOKENS: /);
      expect(error?.message).toMatch(message);
      for (const secret of ['p-secret-1', 'p-secret-2', 's3cr3t-alone']) expect(error?.message).not.toContain(secret);
    },
  );
});

describe('resource caps', () => {
  it('when no cap is set, then the defaults apply', () => {
    expect(options({}).limits).toEqual(DEFAULT_LIMITS);
  });

  it('when the cap variables are set, then the app gets them', () => {
    const env = {
      REGISTRY_MAX_SERVICES: '10',
      REGISTRY_MAX_INSTANCES_PER_SERVICE: '11',
      REGISTRY_MAX_TOMBSTONES: '12',
      REGISTRY_TOMBSTONE_TTL_MS: '13000',
      REGISTRY_MAX_WATCHES_PER_CLIENT: '14',
      REGISTRY_MAX_WATCHES: '15',
    };
    expect(options(env).limits).toEqual({
      maxServices: 10,
      maxInstancesPerService: 11,
      maxTombstones: 12,
      tombstoneTtlMs: 13_000,
      maxWatchesPerClient: 14,
      maxWatches: 15,
    });
  });

  it.each(['REGISTRY_MAX_SERVICES', 'REGISTRY_MAX_WATCHES_PER_CLIENT'])(
    'when %s is 0, then the start is refused naming it',
    (name) => {
      expect(() => options({ [name]: '0' })).toThrow(
        new RegExp(`${name}: Expected integer to be greater or equal to 1`),
      );
    },
  );
});
