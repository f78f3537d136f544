import type { FastifyBaseLogger } from 'fastify';
import { MemoryBroker } from './memory.js';
import type { MessageBus } from './message-bus.js';
import { RabbitBus } from './rabbitmq.js';

let sharedBroker: MemoryBroker | undefined;

/** The in-process broker shared by every service in this process (the all-in-one stack). */
export function sharedMemoryBroker(): MemoryBroker {
  sharedBroker ??= new MemoryBroker();
  return sharedBroker;
}

/** RabbitMQ when a URL is given, otherwise a connection to the process-wide in-memory broker. */
export function createBus(url: string | undefined, log?: FastifyBaseLogger): MessageBus {
  if (url) return RabbitBus.create({ url, ...(log ? { log } : {}) });
  return sharedMemoryBroker().connect();
}
