export * from './tcp-proxy.js';
export * from './wait-for.js';
export * from './free-port.js';
