export * from './tcp-proxy.js';
export * from './wait-for.js';
