import { Pool } from 'undici';
import { RegistryRequestError } from '../errors.js';
import {
  REGISTRY_INDEX_HEADER,
  type Instance,
  type RegistrationBody,
  type ServiceList,
  type ServiceView,
} from './registry-contract.js';

export interface RegistryClientOptions {
  url: string;
  token?: string | undefined;
  /** How long resolve() may answer from its cache. */
  cacheTtlMs?: number;
  timeoutMs?: number;
}

export interface WatchResult {
  index: number;
  instances: Instance[];
}

interface CacheEntry {
  at: number;
  instances: Instance[];
}

/** Client for the registry's REST contract: register, heartbeat, deregister, resolve (cached) and watch. */
export class RegistryClient {
  readonly url: string;
  private readonly pool: Pool;
  private readonly token: string | undefined;
  private readonly cacheTtlMs: number;
  private readonly timeoutMs: number;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(opts: RegistryClientOptions) {
    this.url = opts.url.replace(/\/$/, '');
    this.token = opts.token;
    this.cacheTtlMs = opts.cacheTtlMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.pool = new Pool(this.url, { connections: 4, keepAliveTimeout: 10_000, connectTimeout: this.timeoutMs });
  }

  /** Registers (or refreshes) an instance; the same address gets the same instance id. */
  async register(serviceId: string, body: RegistrationBody): Promise<Instance> {
    const res = await this.call('POST', `/services/${encodeURIComponent(serviceId)}`, body);
    if (res.status !== 200) throw new RegistryRequestError(`register ${serviceId}: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as Instance;
  }

  /** Renews a lease; null when the registry no longer knows the instance (re-register then). */
  async heartbeat(serviceId: string, instanceId: string): Promise<Instance | null> {
    const res = await this.call(
      'PUT',
      `/services/${encodeURIComponent(serviceId)}/${encodeURIComponent(instanceId)}/heartbeat`,
    );
    if (res.status === 404) return null;
    if (res.status !== 200) throw new RegistryRequestError(`heartbeat ${serviceId}: ${res.status} ${res.text}`);
    return JSON.parse(res.text) as Instance;
  }

  /** Removes an instance; false when it was not registered. */
  async deregister(serviceId: string, instanceId: string): Promise<boolean> {
    const res = await this.call(
      'DELETE',
      `/services/${encodeURIComponent(serviceId)}/${encodeURIComponent(instanceId)}`,
    );
    if (res.status === 404) return false;
    if (res.status !== 204) throw new RegistryRequestError(`deregister ${serviceId}: ${res.status} ${res.text}`);
    return true;
  }

  /** Live instances of a service ([] when none), answered from a short cache. */
  async resolve(serviceId: string, opts: { fresh?: boolean } = {}): Promise<Instance[]> {
    const cached = this.cache.get(serviceId);
    if (!opts.fresh && cached && Date.now() - cached.at < this.cacheTtlMs) return cached.instances;
    const { instances } = await this.watch(serviceId, 0, 0);
    return instances;
  }

  /**
   * Blocking query: answers when the service's membership changes past `index`, or after `waitMs`; `signal` cancels it.
   */
  async watch(serviceId: string, index: number, waitMs: number, signal?: AbortSignal): Promise<WatchResult> {
    const query = waitMs > 0 ? `?index=${index}&wait=${Math.ceil(waitMs / 1000)}s` : '';
    const res = await this.call('GET', `/services/${encodeURIComponent(serviceId)}${query}`, undefined, waitMs, signal);
    const newIndex = Number(res.headers[REGISTRY_INDEX_HEADER] ?? 0);
    if (res.status === 404) {
      this.cache.set(serviceId, { at: Date.now(), instances: [] });
      return { index: newIndex, instances: [] };
    }
    if (res.status !== 200) throw new RegistryRequestError(`resolve ${serviceId}: ${res.status} ${res.text}`);
    const view = JSON.parse(res.text) as ServiceView;
    this.cache.set(serviceId, { at: Date.now(), instances: view.instances });
    return { index: newIndex, instances: view.instances };
  }

  /** Every service with its instance count. */
  async listServices(): Promise<ServiceList['services']> {
    const res = await this.call('GET', '/services');
    if (res.status !== 200) throw new RegistryRequestError(`list: ${res.status} ${res.text}`);
    return (JSON.parse(res.text) as ServiceList).services;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async call(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    extraWaitMs = 0,
    signal?: AbortSignal,
  ) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token && method !== 'GET') headers.authorization = `Bearer ${this.token}`;
    try {
      const res = await this.pool.request({
        method,
        path,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        headersTimeout: this.timeoutMs + extraWaitMs,
        bodyTimeout: this.timeoutMs,
        ...(signal ? { signal } : {}),
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      throw new RegistryRequestError(`${method} ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}
