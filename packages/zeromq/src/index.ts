import type { Emitter } from '@skynet-mqtt/core';
import { ZeromqEmitter } from './zeromq-emitter.js';

export { ZeromqEmitter } from './zeromq-emitter.js';
export type { ZeromqEmitterOptions } from './options.js';

/**
 * Adapter entry point: core resolves `backend: { type: 'zmq' | 'zeromq', ... }` by importing this
 * package and calling it. It resolves once the sockets are bound and the listed peers have joined
 * (or `joinTimeout` passed). There is no ZeroMQ Store: pick persistence separately (Redis).
 */
export async function createEmitter(options: Record<string, unknown>): Promise<Emitter> {
  const emitter = new ZeromqEmitter(options);
  await emitter.start();
  return emitter;
}
