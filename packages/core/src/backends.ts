import type { Emitter } from './emitter/emitter.js';
import { MemoryEmitter } from './emitter/memory-emitter.js';
import { ConfigurationError, type EmitterFactory, type ServerOptions, type StoreFactory } from './options.js';
import { MemoryStore } from './store/memory-store.js';
import type { Store, StoreOptions } from './store/store.js';

/** Backend type names (Mosca's and ours) and the adapter package that implements each. */
const ADAPTER_PACKAGES: Record<string, string> = {
  redis: '@skynet-mqtt/redis',
  level: '@skynet-mqtt/level',
  levelup: '@skynet-mqtt/level',
  leveldb: '@skynet-mqtt/level',
  mongo: '@skynet-mqtt/mongodb',
  mongodb: '@skynet-mqtt/mongodb',
  amqp: '@skynet-mqtt/amqp',
  amqplib: '@skynet-mqtt/amqp',
  zmq: '@skynet-mqtt/zeromq',
  zeromq: '@skynet-mqtt/zeromq',
  mqtt: '@skynet-mqtt/mqtt-bridge',
};

interface AdapterModule {
  createStore?: StoreFactory;
  createEmitter?: EmitterFactory;
}

function isStore(value: unknown): value is Store {
  return typeof (value as Store | undefined)?.storeRetained === 'function';
}

function isEmitter(value: unknown): value is Emitter {
  const emitter = value as Emitter | undefined;
  return typeof emitter?.publish === 'function' && typeof emitter.subscribe === 'function';
}

async function loadAdapter(name: string, option: string): Promise<AdapterModule> {
  const pkg = ADAPTER_PACKAGES[name.toLowerCase()];
  if (!pkg) {
    throw new ConfigurationError(`${option} '${name}' is unknown: use memory or one of ${Object.keys(ADAPTER_PACKAGES).join(', ')}`);
  }
  try {
    return (await import(pkg)) as AdapterModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(pkg)) {
      throw new ConfigurationError(`${option} '${name}' needs the package ${pkg}: run npm install ${pkg}`);
    }
    throw error;
  }
}

/** Splits `{ factory | type, ...rest }` into the name or function and the adapter's own options. */
function split(config: Record<string, unknown>, key: 'factory' | 'type'): [unknown, Record<string, unknown>] {
  const { [key]: kind, ...rest } = config;
  return [kind, rest];
}

/** Builds the Store named by `options.persistence`; memory when unset. */
export async function createStore(options: ServerOptions): Promise<Store> {
  const config = options.persistence;
  if (isStore(config)) return config;
  if (config !== undefined && (config === null || typeof config !== 'object')) {
    throw new ConfigurationError('option persistence must be an object such as { factory: "redis", host: "..." } or a Store');
  }
  const [factory, rest] = split(config ?? {}, 'factory');
  // storeMessagesQos0 is Mosca's persistence option but a broker decision here.
  delete rest.storeMessagesQos0;
  if (typeof factory === 'function') return (factory as StoreFactory)(rest);
  if (factory === undefined || (typeof factory === 'string' && factory.toLowerCase() === 'memory')) {
    return new MemoryStore(rest as StoreOptions);
  }
  if (typeof factory !== 'string') throw new ConfigurationError('option persistence.factory must be a name such as "redis" or a function');
  const adapter = await loadAdapter(factory, 'persistence.factory');
  if (!adapter.createStore) throw new ConfigurationError(`persistence.factory '${factory}' provides no Store: pick it as backend.type instead`);
  return adapter.createStore(rest);
}

/** Builds the Emitter named by `options.backend`; memory when unset. */
export async function createEmitter(options: ServerOptions): Promise<Emitter> {
  const config = options.backend;
  if (isEmitter(config)) return config;
  if (config !== undefined && (config === null || typeof config !== 'object')) {
    throw new ConfigurationError('option backend must be an object such as { type: "redis", host: "..." } or an Emitter');
  }
  const [type, rest] = split(config ?? {}, 'type');
  // Mosca's ascoltatori options that have no meaning here.
  for (const key of ['json', 'wildcardOne', 'wildcardSome']) delete rest[key];
  if (typeof type === 'function') return (type as EmitterFactory)(rest);
  if (type === undefined || (typeof type === 'string' && ['memory', 'trie'].includes(type.toLowerCase()))) return new MemoryEmitter();
  if (typeof type !== 'string') throw new ConfigurationError('option backend.type must be a name such as "redis" or a function');
  const adapter = await loadAdapter(type, 'backend.type');
  if (!adapter.createEmitter) throw new ConfigurationError(`backend.type '${type}' provides no Emitter: pick it as persistence.factory instead`);
  return adapter.createEmitter(rest);
}

/** Whether the persistence option asks for QoS 0 messages to be queued too (Mosca's place for it). */
export function persistenceStoresQos0(options: ServerOptions): boolean {
  const config = options.persistence as Record<string, unknown> | undefined;
  return !isStore(config) && config?.storeMessagesQos0 === true;
}
