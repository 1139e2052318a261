import type { Emitter, Store } from '@skynet-mqtt/core';
import { MongoEmitter } from './mongo-emitter.js';
import { MongoStore } from './mongo-store.js';

export { MongoStore } from './mongo-store.js';
export { MongoEmitter } from './mongo-emitter.js';
export { databaseName, resolveEmitterOptions, resolveStoreOptions, withDatabase, type MongoEmitterOptions, type MongoStoreOptions } from './options.js';

/**
 * Adapter entry points: core resolves `persistence: { factory: 'mongo' | 'mongodb', ... }` and
 * `backend: { type: 'mongo' | 'mongodb', ... }` by importing this package and calling these.
 * They return at once: while MongoDB is unreachable, calls wait for it rather than fail.
 */
export async function createStore(options: Record<string, unknown>): Promise<Store> {
  return new MongoStore(options);
}

export async function createEmitter(options: Record<string, unknown>): Promise<Emitter> {
  return new MongoEmitter(options);
}
