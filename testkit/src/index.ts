export * from './tcp-proxy.js';
export * from './wait-for.js';
export * from './free-port.js';
export * from './raw-http.js';
export * from './node-service.js';
export * from './rabbitmq.js';
export * from './secret-parts.js';
export * from './unpartitioned-price-queries.js';
