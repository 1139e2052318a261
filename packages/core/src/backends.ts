import type { Logger } from 'pino';
import type { Emitter } from './emitter/emitter.js';
import { MemoryEmitter } from './emitter/memory-emitter.js';
import type { ByteBudget } from './connection/byte-budget.js';
import { ConfigurationError, type EmitterFactory, type ServerOptions, type StoreFactory } from './options.js';
import { MemoryStore, type MemoryStoreOptions } from './store/memory-store.js';
import type { Store } from './store/store.js';

/** What the broker gives the backends it builds (a tool building them on its own may give none). */
export interface BackendContext {
  /** The broker's logger: adapters loaded by name log through a child of it unless given a `logger` option. */
  logger: Logger;
  /** The broker's budget of queued bytes, which the memory Store's offline queues count in. */
  queuedBytes: ByteBudget;
  /** The broker's per-client `maxQueuedBytes`, the memory Store's default. */
  maxQueuedBytes: number;
}

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

/**
 * Imports an optional package the configuration names; a missing one is a ConfigurationError that
 * says which package to install (adapters and plugins are installed separately from core).
 */
export async function importOptionalPackage<T>(pkg: string, option: string, what: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(pkg)) {
      throw new ConfigurationError(`${option} ${what} needs the package ${pkg}: run npm install ${pkg}`);
    }
    throw error;
  }
}

async function loadAdapter(name: string, option: string): Promise<AdapterModule> {
  const pkg = ADAPTER_PACKAGES[name.toLowerCase()];
  if (!pkg) {
    throw new ConfigurationError(`${option} '${name}' is unknown: use memory or one of ${Object.keys(ADAPTER_PACKAGES).join(', ')}`);
  }
  return importOptionalPackage<AdapterModule>(pkg, option, `'${name}'`);
}

/** How one of the two backend options is read: its name, its kind key, and what memory means. */
interface BackendKind<T> {
  option: 'persistence' | 'backend';
  key: 'factory' | 'type';
  what: 'Store' | 'Emitter';
  other: string;
  isInstance(value: unknown): value is T;
  memoryNames: string[];
  memory(options: Record<string, unknown>): T;
  /** Mosca's keys that are accepted in this option and mean nothing to an adapter. */
  ignored: string[];
  fromAdapter(adapter: AdapterModule): ((options: Record<string, unknown>) => T | Promise<T>) | undefined;
}

/** Builds a Store or an Emitter from its option: an instance, a factory function, or a type name. */
async function build<T>(config: unknown, kind: BackendKind<T>, logger: Logger | undefined): Promise<T> {
  const { option, key } = kind;
  if (kind.isInstance(config)) return config;
  if (config !== undefined && (config === null || typeof config !== 'object')) {
    throw new ConfigurationError(`option ${option} must be an object such as { ${key}: "redis", host: "..." } or a ${kind.what}`);
  }
  const { [key]: name, ...rest } = (config ?? {}) as Record<string, unknown>;
  for (const ignored of kind.ignored) delete rest[ignored];
  if (typeof name === 'function') return (name as (options: Record<string, unknown>) => T | Promise<T>)(rest);
  if (name === undefined || (typeof name === 'string' && kind.memoryNames.includes(name.toLowerCase()))) return kind.memory(rest);
  if (typeof name !== 'string') throw new ConfigurationError(`option ${option}.${key} must be a name such as "redis" or a function`);
  const make = kind.fromAdapter(await loadAdapter(name, `${option}.${key}`));
  if (!make) throw new ConfigurationError(`${option}.${key} '${name}' provides no ${kind.what}: pick it as ${kind.other} instead`);
  // Outages and errors of the adapter show in the broker's log (a `logger` option wins).
  return make(logger ? { logger: logger.child({ [option]: name }), ...rest } : rest);
}

/** Builds the Store named by `options.persistence`; memory when unset. */
export function createStore(options: ServerOptions, context: Partial<BackendContext> = {}): Promise<Store> {
  return build<Store>(options.persistence, {
    option: 'persistence',
    key: 'factory',
    what: 'Store',
    other: 'backend.type',
    isInstance: isStore,
    memoryNames: ['memory'],
    memory: (rest) => new MemoryStore({ maxQueuedBytes: context.maxQueuedBytes, ...(rest as MemoryStoreOptions), budget: context.queuedBytes }),
    // storeMessagesQos0 is Mosca's persistence option but a broker decision here.
    ignored: ['storeMessagesQos0'],
    fromAdapter: (adapter) => adapter.createStore,
  }, context.logger);
}

/** Builds the Emitter named by `options.backend`; memory when unset. */
export function createEmitter(options: ServerOptions, context: Partial<Pick<BackendContext, 'logger'>> = {}): Promise<Emitter> {
  return build<Emitter>(options.backend, {
    option: 'backend',
    key: 'type',
    what: 'Emitter',
    other: 'persistence.factory',
    isInstance: isEmitter,
    memoryNames: ['memory', 'trie'],
    memory: () => new MemoryEmitter(),
    // Mosca's ascoltatori options that have no meaning here.
    ignored: ['json', 'wildcardOne', 'wildcardSome'],
    fromAdapter: (adapter) => adapter.createEmitter,
  }, context.logger);
}

/** Whether the persistence option asks for QoS 0 messages to be queued too (Mosca's place for it). */
export function persistenceStoresQos0(options: ServerOptions): boolean {
  const config = options.persistence as Record<string, unknown> | undefined;
  return !isStore(config) && config?.storeMessagesQos0 === true;
}
