// The stores @fastify/rate-limit ships, imported directly to compose them (the package types only its plugin).
declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { Redis } from 'ioredis';
  type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;
  const RedisStore: new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string) => {
    incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  };
  export default RedisStore;
}

declare module '@fastify/rate-limit/store/LocalStore.js' {
  type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;
  const LocalStore: new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => {
    incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  };
  export default LocalStore;
}
