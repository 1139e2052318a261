import type { AdapterContext, Emitter } from '@skynet-mqtt/core';
import { AmqpEmitter } from './amqp-emitter.js';

export { AmqpEmitter } from './amqp-emitter.js';
export type { AmqpEmitterOptions } from './options.js';

/**
 * Adapter entry point: core resolves `backend: { type: 'amqp' | 'amqplib', ... }` by importing this
 * package and calling it. It resolves once the exchange and this instance's queue are set up
 * (waiting for RabbitMQ while it is unreachable), so a broker listens only once it can reach the
 * other instances. There is no AMQP Store: pick persistence separately (Redis, for instance).
 */
export async function createEmitter(options: Record<string, unknown>, context?: AdapterContext): Promise<Emitter> {
  const emitter = new AmqpEmitter(options, context);
  await emitter.ready();
  return emitter;
}
