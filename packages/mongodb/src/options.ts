import type { MongoClientOptions } from 'mongodb';
import { AdapterOptions, type AdapterLogger } from '@skynet-mqtt/core';

/** Options of the MongoDB Store (`persistence`), with Mosca's names where Mosca had one. */
export interface MongoStoreOptions {
  /** mongodb:// or mongodb+srv:// URL; its path names the database (default `skynet`). */
  url?: string;
  /** Driver options (Mosca's name), passed to MongoClient as they are. */
  mongo?: MongoClientOptions;
  /** Prefix of the Store's collection names. Default 'skynet.'. */
  prefix?: string;
  /** Milliseconds, Mosca's default 1 h each. */
  ttl?: { subscriptions?: number; packets?: number };
  /** Mosca's: milliseconds a queued or in-flight packet lives; overrides ttl.packets. */
  offlineMessageTimeout?: number;
  maxQueuedMessages?: number;
  logger?: AdapterLogger;
}

/** Options of the MongoDB Emitter (`backend`), with Mosca's (ascoltatori's) names. */
export interface MongoEmitterOptions {
  url?: string;
  mongo?: MongoClientOptions;
  /** The capped collection every instance writes and tails. Mosca's default 'pubsub'. */
  pubsubCollection?: string;
  /** Bytes the capped collection holds. */
  size?: number;
  /** Documents the capped collection holds. */
  max?: number;
  /** Milliseconds between two attempts to read again after the cursor died (Mosca's `wait`). */
  wait?: number;
  logger?: AdapterLogger;
}

export const DEFAULT_URL = 'mongodb://127.0.0.1:27017/skynet';
export const DEFAULT_DATABASE = 'skynet';
export const DEFAULT_PUBSUB_SIZE = 64 * 1024 * 1024;
export const DEFAULT_PUBSUB_MAX = 100_000;

interface Connection {
  url: string;
  database: string;
  driver: MongoClientOptions;
  logger: AdapterLogger;
}

export interface ResolvedStoreOptions extends Connection {
  prefix: string;
  ttl: { subscriptions: number; packets: number };
  maxQueuedMessages: number;
}

export interface ResolvedEmitterOptions extends Connection {
  collection: string;
  size: number;
  max: number;
  wait: number;
}

/**
 * The database a URL names: the path after the host list, before the query. Parsed here because
 * the driver defaults to 'test', a name nobody wants for their broker's data.
 */
export function databaseName(url: string): string {
  const path = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]*)/.exec(url)?.[1];
  return path ? decodeURIComponent(path) : DEFAULT_DATABASE;
}

/** `url` naming `database` instead of its own (tests and benchmarks: one database per run). */
export function withDatabase(url: string, database: string): string {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(url);
  if (!match) throw new Error(`not a mongodb:// URL: ${url}`);
  return `${match[1]}/${encodeURIComponent(database)}${match[2] ?? ''}`;
}

const COMMON = ['url', 'mongo', 'logger'];
const STORE_ONLY = ['prefix', 'ttl', 'offlineMessageTimeout', 'maxQueuedMessages'];
// Mosca's maxRetry (give up after 5 reconnect checks) is accepted: this adapter never gives up.
const EMITTER_ONLY = ['pubsubCollection', 'size', 'max', 'wait', 'maxRetry'];

function connection(options: AdapterOptions): Connection {
  const url = options.string('url', `"${DEFAULT_URL}"`) ?? DEFAULT_URL;
  if (!/^mongodb(\+srv)?:\/\//.test(url)) options.fail(`option url must start with mongodb:// or mongodb+srv://; got ${url}`);
  const driver = (options.record('mongo', '{ maxPoolSize: 10 }') ?? {}) as MongoClientOptions;
  return { url, database: databaseName(url), driver, logger: options.logger() };
}

/** Refuses what is unknown, and says where a misplaced or unsupported Mosca option belongs. */
function checkKeys(options: AdapterOptions, use: 'store' | 'emitter'): void {
  const values = options.values;
  for (const key of ['connection', 'db', 'autoClose']) {
    if (values[key] !== undefined) options.fail(`option ${key} (a shared connection) is not supported: give url, and driver options in mongo`);
  }
  const [own, other, otherName] = use === 'store' ? [STORE_ONLY, EMITTER_ONLY, 'backend (the Emitter)'] : [EMITTER_ONLY, STORE_ONLY, 'persistence (the Store)'];
  for (const key of Object.keys(values)) {
    if (values[key] !== undefined && other.includes(key)) options.fail(`option ${key} belongs to ${otherName}`);
  }
  options.onlyKnown([...COMMON, ...own], 'pass driver options inside mongo');
}

export function resolveStoreOptions(input: Record<string, unknown> | MongoStoreOptions): ResolvedStoreOptions {
  const options = new AdapterOptions('MongoDB store', input as Record<string, unknown>);
  checkKeys(options, 'store');
  const limits = options.storeLimits();
  const offlineMessageTimeout = options.integer('offlineMessageTimeout', 1, Number.MAX_SAFE_INTEGER, '3600000');
  const prefix = options.string('prefix', '"skynet."') ?? 'skynet.';
  if (prefix.includes('$') || prefix.startsWith('system.')) options.fail(`option prefix must not contain '$' nor start with 'system.'; got ${prefix}`);
  return {
    ...connection(options),
    prefix,
    ttl: { subscriptions: limits.ttl.subscriptions, packets: offlineMessageTimeout ?? limits.ttl.packets },
    maxQueuedMessages: limits.maxQueuedMessages,
  };
}

export function resolveEmitterOptions(input: Record<string, unknown> | MongoEmitterOptions): ResolvedEmitterOptions {
  const options = new AdapterOptions('MongoDB emitter', input as Record<string, unknown>);
  checkKeys(options, 'emitter');
  options.integer('maxRetry', 0, Number.MAX_SAFE_INTEGER, '5');
  const collection = options.string('pubsubCollection', '"pubsub"') ?? 'pubsub';
  if (collection.includes('$') || collection.startsWith('system.')) options.fail(`option pubsubCollection must not contain '$' nor start with 'system.'; got ${collection}`);
  return {
    ...connection(options),
    collection,
    // A capped collection needs room for at least one 16 MB document.
    size: options.integer('size', 16 * 1024 * 1024, Number.MAX_SAFE_INTEGER, String(DEFAULT_PUBSUB_SIZE)) ?? DEFAULT_PUBSUB_SIZE,
    max: options.integer('max', 1_000, Number.MAX_SAFE_INTEGER, String(DEFAULT_PUBSUB_MAX)) ?? DEFAULT_PUBSUB_MAX,
    wait: options.integer('wait', 1, 60_000, '100') ?? 100,
  };
}
