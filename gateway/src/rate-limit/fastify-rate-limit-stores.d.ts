// The in-memory store @fastify/rate-limit ships, imported directly to compose it (the package types only its plugin).
declare module '@fastify/rate-limit/store/LocalStore.js' {
  type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;
  const LocalStore: new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    cache?: number,
  ) => {
    incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  };
  export default LocalStore;
}
