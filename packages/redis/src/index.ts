import type { AdapterContext, Emitter, Store } from '@skynet-mqtt/core';
import { RedisEmitter } from './redis-emitter.js';
import { RedisStore } from './redis-store.js';

export { RedisStore } from './redis-store.js';
export { RedisEmitter } from './redis-emitter.js';
export { copyRetained } from './copy-retained.js';
export type { RedisAdapterOptions, Logger } from './options.js';
export type { ConnectionState } from './connection.js';

/**
 * Adapter entry points: core resolves `persistence: { factory: 'redis', ... }` and
 * `backend: { type: 'redis', ... }` by importing this package and calling these. They return at
 * once: while Redis is unreachable, calls wait for it rather than fail.
 */
export async function createStore(options: Record<string, unknown>, context?: AdapterContext): Promise<Store> {
  return new RedisStore(options, context);
}

export async function createEmitter(options: Record<string, unknown>, context?: AdapterContext): Promise<Emitter> {
  return new RedisEmitter(options, context);
}
