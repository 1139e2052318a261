import type { Logger } from 'pino';
import type { Emitter } from './emitter/emitter.js';
import { MemoryEmitter } from './emitter/memory-emitter.js';
import type { ByteBudget } from './connection/byte-budget.js';
import { ConfigurationError } from './configuration-error.js';
import type { AdapterContext, EmitterFactory, ServerOptions, StoreFactory } from './options.js';
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
  /** Given to the adapters built by name (AdapterContext). */
  instanceId: string;
  countDrop?: AdapterContext['countDrop'];
}

/** What the adapters get of the context; none without an instance id (a tool building a backend on its own). */
function adapterContext({ instanceId, countDrop }: Partial<BackendContext>): AdapterContext | undefined {
  if (instanceId === undefined) return undefined;
  return countDrop ? { instanceId, countDrop } : { instanceId };
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

/**
 * Mosca's keys that mean nothing here, by adapter name ('*': any): accepted, removed before the
 * Store or Emitter sees them, and said once at info with the reason ('' says nothing).
 */
type IgnoredKeys = Record<string, Record<string, string>>;

const LEVELUP_IGNORED = {
  db: 'the LevelDB binding (leveldown): the level store always uses its own (classic-level)',
  valueEncoding: 'the level store encodes its values itself',
};

const REDIS_IGNORED = {
  redis: 'the Redis client module: the Redis adapter has ioredis built in',
  return_buffers: 'payloads are always Buffers',
};

/**
 * Mosca's `backend.prefix` put every topic under it on the shared bus (ascoltatori's
 * PrefixAscoltatore, whatever the type): its examples run one instance with `prefix: '/a'` and
 * read its messages on another under `/a/#`. Here only the MQTT bridge has a topic prefix; Redis
 * and MongoDB read `prefix` as the name of their keys, so such a config would start and quietly
 * split the instances into brokers that exchange nothing. A `/` is how Mosca's topic prefixes look.
 */
function moscaTopicPrefix(adapterName: string, options: Record<string, unknown>): string | null {
  const { prefix } = options;
  if (adapterName === 'mqtt' || typeof prefix !== 'string' || !prefix.includes('/')) return null;
  return (
    `option backend.prefix ${JSON.stringify(prefix)} is Mosca's topic prefix, which only backend type 'mqtt' has: ` +
    `'${adapterName}' does not rewrite topics (Redis and MongoDB take prefix as the name of their keys, so instances with different prefixes would exchange no messages). ` +
    'Remove it to make the instances one broker, or on Redis and MongoDB give a key name without "/" (such as "site-a:") for a separate deployment'
  );
}

/** How one of the two backend options is read: its name, its kind key, and what memory means. */
interface BackendKind<T> {
  option: 'persistence' | 'backend';
  key: 'factory' | 'type';
  what: 'Store' | 'Emitter';
  other: string;
  isInstance(value: unknown): value is T;
  memory(options: Record<string, unknown>): T;
  ignored: IgnoredKeys;
  /** Why these options cannot be used with this adapter (a Mosca meaning it does not have), or null. */
  refused?(adapterName: string, options: Record<string, unknown>): string | null;
  fromAdapter(adapter: AdapterModule): ((options: Record<string, unknown>, context?: AdapterContext) => T | Promise<T>) | undefined;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === 'object' ? `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}` : `a ${typeof value}`;
}

/** Builds a Store or an Emitter from its option: an instance, a factory function, or a type name. */
async function build<T>(config: unknown, kind: BackendKind<T>, logger: Logger | undefined, context: AdapterContext | undefined): Promise<T> {
  const { option, key } = kind;
  if (kind.isInstance(config)) return config;
  if (config !== undefined && (config === null || typeof config !== 'object')) {
    throw new ConfigurationError(`option ${option} must be an object such as { ${key}: "redis", host: "..." } or a ${kind.what}`);
  }
  const { [key]: name, ...rest } = (config ?? {}) as Record<string, unknown>;
  const adapterName = typeof name === 'string' ? name.toLowerCase() : '';
  for (const [ignoredKey, reason] of Object.entries({ ...kind.ignored['*'], ...kind.ignored[adapterName] })) {
    if (!(ignoredKey in rest)) continue;
    delete rest[ignoredKey];
    if (reason) logger?.info(`option ${option}.${ignoredKey} is ignored: ${reason}`);
  }
  let made: T | Promise<T>;
  if (typeof name === 'function') {
    made = (name as (options: Record<string, unknown>, context?: AdapterContext) => T | Promise<T>)(rest, context);
  } else if (name === undefined || isMemory(kind.option, adapterName)) {
    return kind.memory(rest);
  } else if (typeof name !== 'string') {
    throw new ConfigurationError(`option ${option}.${key} must be a name such as "redis" or a function`);
  } else {
    const refusal = kind.refused?.(adapterName, rest);
    if (refusal) throw new ConfigurationError(refusal);
    const make = kind.fromAdapter(await loadAdapter(name, `${option}.${key}`));
    if (!make) throw new ConfigurationError(`${option}.${key} '${name}' provides no ${kind.what}: pick it as ${kind.other} instead`);
    // Outages and errors of the adapter show in the broker's log (a `logger` option wins).
    made = make(logger ? { logger: logger.child({ [option]: name }), ...rest } : rest, context);
  }
  const built = await made;
  if (!kind.isInstance(built)) {
    throw new ConfigurationError(
      `option ${option}.${key} gave ${describe(built)}, not a ${kind.what}: a ${key} function must return (or resolve to) a ${kind.what} (see docs/store-and-emitter.md); Mosca's persistence and ascoltatori classes are not one`,
    );
  }
  return built;
}

/** Whether an adapter name means the built-in memory Store or Emitter. */
export function isMemory(option: 'persistence' | 'backend', name: string): boolean {
  return name === 'memory' || (option === 'backend' && name === 'trie');
}

function positive(value: unknown, name: string, integer: boolean): number {
  if (typeof value !== 'number' || !(value > 0) || (integer && !Number.isInteger(value))) {
    throw new ConfigurationError(`option persistence.${name} must be ${integer ? 'an integer >= 1' : 'a positive number of milliseconds'}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The memory Store's options, checked (Mosca's `ttl` and `maxQueuedMessages`, and `maxQueuedBytes`); unknown keys are reported with the other options. */
function memoryStoreOptions(options: Record<string, unknown>): MemoryStoreOptions {
  const checked: MemoryStoreOptions = {};
  const { ttl, maxQueuedMessages, maxQueuedBytes } = options;
  if (ttl !== undefined) {
    if (typeof ttl !== 'object' || ttl === null) throw new ConfigurationError('option persistence.ttl must be an object such as { subscriptions: 3600000, packets: 3600000 } (milliseconds)');
    const { subscriptions, packets, checkFrequency } = ttl as Record<string, unknown>;
    checked.ttl = {};
    if (subscriptions !== undefined) checked.ttl.subscriptions = positive(subscriptions, 'ttl.subscriptions', false);
    if (packets !== undefined) checked.ttl.packets = positive(packets, 'ttl.packets', false);
    if (checkFrequency !== undefined) positive(checkFrequency, 'ttl.checkFrequency', false); // Mosca's, unused here
  }
  if (maxQueuedMessages !== undefined) checked.maxQueuedMessages = positive(maxQueuedMessages, 'maxQueuedMessages', true);
  if (maxQueuedBytes !== undefined) checked.maxQueuedBytes = positive(maxQueuedBytes, 'maxQueuedBytes', true);
  return checked;
}

/** Builds the Store named by `options.persistence`; memory when unset. */
export function createStore(options: ServerOptions, context: Partial<BackendContext> = {}): Promise<Store> {
  return build<Store>(
    options.persistence,
    {
      option: 'persistence',
      key: 'factory',
      what: 'Store',
      other: 'backend.type',
      isInstance: isStore,
      memory: (rest) => new MemoryStore({ maxQueuedBytes: context.maxQueuedBytes, ...memoryStoreOptions(rest), budget: context.queuedBytes }),
      ignored: {
        // Mosca's persistence option, read by the broker itself (persistenceStoresQos0): nothing to say.
        '*': { storeMessagesQos0: '' },
        level: LEVELUP_IGNORED,
        levelup: LEVELUP_IGNORED,
        leveldb: LEVELUP_IGNORED,
        redis: REDIS_IGNORED,
      },
      fromAdapter: (adapter) => adapter.createStore,
    },
    context.logger,
    adapterContext(context),
  );
}

/** Builds the Emitter named by `options.backend`; memory when unset. */
export function createEmitter(options: ServerOptions, context: Partial<Pick<BackendContext, 'logger' | 'instanceId' | 'countDrop'>> = {}): Promise<Emitter> {
  return build<Emitter>(
    options.backend,
    {
      option: 'backend',
      key: 'type',
      what: 'Emitter',
      other: 'persistence.factory',
      isInstance: isEmitter,
      memory: () => new MemoryEmitter(),
      ignored: {
        // Mosca's defaults for ascoltatori: topics and payloads are MQTT's here.
        '*': {
          json: 'payloads are always passed as they are',
          wildcardOne: "topic filters always use MQTT's wildcards",
          wildcardSome: "topic filters always use MQTT's wildcards",
        },
        redis: REDIS_IGNORED,
      },
      refused: moscaTopicPrefix,
      fromAdapter: (adapter) => adapter.createEmitter,
    },
    context.logger,
    adapterContext(context),
  );
}

/** Whether the persistence option asks for QoS 0 messages to be queued too (Mosca's place for it). */
export function persistenceStoresQos0(options: ServerOptions): boolean {
  const config = options.persistence as Record<string, unknown> | undefined;
  return !isStore(config) && config?.storeMessagesQos0 === true;
}
