import type { AdapterContext, Emitter } from '@skynet-mqtt/core';
import { MqttBridgeEmitter } from './bridge-emitter.js';

export { MqttBridgeEmitter, type BridgeState } from './bridge-emitter.js';
export { resolveBridgeOptions, type MqttBridgeOptions } from './options.js';
export { fromParentTopic, parentFilter, toParentTopic } from './topics.js';

/**
 * Adapter entry point: core resolves `backend: { type: 'mqtt', ... }` by importing this package
 * and calling it. It returns at once; while the parent is unreachable, calls wait for it.
 * There is no Store here: pair the bridge with a Store of its own (memory, level, redis, mongodb).
 */
export async function createEmitter(options: Record<string, unknown>, context?: AdapterContext): Promise<Emitter> {
  return new MqttBridgeEmitter(options, context);
}
