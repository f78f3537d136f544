import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawStatus } from '@lizards/testkit';
import { buildRegistryApp } from '../src/app.js';

const ADMIN = 'write-auth-admin-token';
const PROVIDER = 'write-auth-provider-token';
const INGESTION = 'write-auth-ingestion-token';

let app: FastifyInstance;
let port: number;

beforeAll(async () => {
  app = buildRegistryApp({
    leaseTtlMs: 60_000,
    evictionIntervalMs: 1000,
    token: ADMIN,
    serviceTokens: { provider: PROVIDER, ingestion: INGESTION, 'ingestion-grpc': INGESTION },
    logger: false,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});
afterAll(() => app.close());

/** One request with the target spelled exactly as given (raw bytes, so no client normalises it). */
async function send(method: string, target: string, token?: string, body?: object) {
  const auth = token ? `\r\nAuthorization: Bearer ${token}` : '';
  const type = body ? '\r\nContent-Type: application/json' : '';
  const { status, text } = await rawStatus(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: registry.test${auth}${type}`,
    body ? JSON.stringify(body) : '',
  );
  const payload = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, text, json: payload ? (JSON.parse(payload) as Record<string, unknown>) : undefined };
}

const registration = (name: string, portNumber = 8081) => ({
  name,
  ip_address: '10.1.1.1',
  port_number: portNumber,
  protocol: 'http',
});

async function instancesOf(serviceId: string): Promise<Array<{ instance_id: string; lease_expires_at: string }>> {
  const res = await send('GET', `/services/${serviceId}`);
  return res.status === 200 ? (res.json!.instances as Array<{ instance_id: string; lease_expires_at: string }>) : [];
}

/** Other spellings of `/services/<rest>` that the router still matches to the same route. */
const spellings = (rest: string): Array<[string, string]> => [
  ['an encoded letter in "services"', `/%73ervices/${rest}`],
  ['encoded letters in every segment', `/servic%65s/${rest.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}`],
  ['an absolute-form target', `http://registry.test/services/${rest}`],
  ['an absolute-form target with another host and an upper-case scheme', `HTTP://evil.example:9/services/${rest}`],
  ['an absolute-form target with an encoded path', `http://x/%73ervic%65s/${rest}`],
];

describe('POST /services/:service-id: the token is required whatever the spelling of the path', () => {
  it.each(spellings('spelled-post'))(
    'when the path has %s and no or a wrong token is sent, then 401 and nothing is registered; with the ' +
      'token, then 200',
    async (_how, target) => {
      expect((await send('POST', target, undefined, registration('intruder'))).status).toBe(401);
      expect((await send('POST', target, 'wrong-token', registration('intruder'))).status).toBe(401);
      expect(await instancesOf('spelled-post')).toEqual([]);
      // The same spelling with the token reaches the route: the 401 above came from the route, not from a miss.
      const admitted = await send('POST', target, ADMIN, registration('admitted'));
      expect(admitted.status).toBe(200);
      expect(await instancesOf('spelled-post')).toHaveLength(1);
      expect((await send('DELETE', `/services/spelled-post/${String(admitted.json!.instance_id)}`, ADMIN)).status).toBe(
        204,
      );
    },
  );
});

describe(
  'PUT /services/:service-id/:instance-id/heartbeat: the ' + 'token is required whatever the spelling of the path',
  () => {
    it.each(spellings('spelled-put'))(
      'when the path has %s and no token is sent, then 401 and the lease is not renewed; with the token, then 200',
      async (_how, target) => {
        const registered = await send('POST', '/services/spelled-put', ADMIN, registration('beating'));
        const id = String(registered.json!.instance_id);
        const [before] = await instancesOf('spelled-put');
        expect((await send('PUT', `${target}/${id}/heartbeat`)).status).toBe(401);
        expect((await instancesOf('spelled-put'))[0]!.lease_expires_at).toBe(before!.lease_expires_at);
        expect((await send('PUT', `${target}/${id}/heartbeat`, ADMIN)).status).toBe(200);
      },
    );
  },
);

describe('DELETE /services/:service-id/:instance-id: the token is required whatever the spelling of the path', () => {
  it.each(spellings('spelled-delete'))(
    'when the path has %s and no token is sent, then 401 and the instance stays; with the token, then 204',
    async (_how, target) => {
      const registered = await send('POST', '/services/spelled-delete', ADMIN, registration('kept'));
      const id = String(registered.json!.instance_id);
      expect((await send('DELETE', `${target}/${id}`)).status).toBe(401);
      expect((await instancesOf('spelled-delete')).map((i) => i.instance_id)).toEqual([id]);
      expect((await send('DELETE', `${target}/${id}`, ADMIN)).status).toBe(204);
      expect(await instancesOf('spelled-delete')).toEqual([]);
    },
  );
});

describe('per-service write tokens (REGISTRY_SERVICE_TOKENS)', () => {
  it('when a service token writes its own service, then register, heartbeat and deregister succeed', async () => {
    const registered = await send('POST', '/services/provider', PROVIDER, registration('provider-own'));
    expect(registered.status).toBe(200);
    const id = String(registered.json!.instance_id);
    expect((await send('PUT', `/services/provider/${id}/heartbeat`, PROVIDER)).status).toBe(200);
    expect((await send('DELETE', `/services/provider/${id}`, PROVIDER)).status).toBe(204);
  });

  it('when one token is given for several service ids, then it writes each of them', async () => {
    expect((await send('POST', '/services/ingestion', INGESTION, registration('ingestion-http'))).status).toBe(200);
    expect(
      (
        await send('POST', '/services/ingestion-grpc', INGESTION, {
          ...registration('ingestion-grpc'),
          protocol: 'gRPC',
        })
      ).status,
    ).toBe(200);
  });

  it(
    'when a service token writes another service, then 403 naming the service and nothing changes, whatever ' +
      'the spelling',
    async () => {
      const victim = await send('POST', '/services/gateway', ADMIN, registration('gateway-1'));
      const id = String(victim.json!.instance_id);
      const [before] = await instancesOf('gateway');
      for (const target of ['/services/gateway', '/services/%67ateway', 'http://x/%73ervices/gateway']) {
        const hijack = await send('POST', target, PROVIDER, registration('hijack', 9999));
        expect(hijack.status, target).toBe(403);
        expect(hijack.json).toMatchObject({ error: 'Forbidden', code: 'LZ_ERR_REGISTRY_FORBIDDEN' });
        expect(String(hijack.json!.message)).toContain('gateway');
        expect((await send('PUT', `${target}/${id}/heartbeat`, PROVIDER)).status, target).toBe(403);
        expect((await send('DELETE', `${target}/${id}`, PROVIDER)).status, target).toBe(403);
      }
      expect(await instancesOf('gateway')).toEqual([before]);
    },
  );

  it('when a service token writes a service id that has no token of its own, then 403', async () => {
    expect((await send('POST', '/services/unlisted', INGESTION, registration('x'))).status).toBe(403);
    expect(await instancesOf('unlisted')).toEqual([]);
  });

  it('when the admin token writes any service, then it is allowed', async () => {
    expect((await send('POST', '/services/provider', ADMIN, registration('by-admin', 7000))).status).toBe(200);
    expect((await send('POST', '/services/unlisted', ADMIN, registration('by-admin', 7000))).status).toBe(200);
  });

  it('when the token is sent in another scheme or with extra characters, then 401', async () => {
    for (const authorization of [
      `Basic ${PROVIDER}`,
      `Bearer ${PROVIDER}x`,
      `Bearer  ${PROVIDER}`,
      `bearer${PROVIDER}`,
      PROVIDER,
    ]) {
      const res = await rawStatus(
        port,
        `POST /services/provider HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}`,
        JSON.stringify(registration('odd-scheme', 7100)),
      );
      expect(res.status, authorization).toBe(401);
      expect(res.text.toLowerCase()).toContain('www-authenticate: bearer');
    }
  });
});

describe('a registry with no token (loopback only)', () => {
  it('when no token is configured, then writes are open', async () => {
    const open = buildRegistryApp({ leaseTtlMs: 60_000, evictionIntervalMs: 1000, logger: false });
    try {
      const res = await open.inject({ method: 'POST', url: '/%73ervices/open', payload: registration('open') });
      expect(res.statusCode).toBe(200);
    } finally {
      await open.close();
    }
  });
});
