import type { ClusterNode, RedisOptions } from 'ioredis';
import { ConfigurationError, DEFAULT_STORE_LIMITS } from '@skynet-mqtt/core';
import { shardPrefixes } from './shards.js';

/** A pino-like logger; only plain messages are logged. */
export interface Logger {
  warn(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

/** Options of the Redis Store and Emitter, with Mosca's names where Mosca had one. */
export interface RedisAdapterOptions {
  host?: string;
  port?: number;
  db?: number;
  password?: string;
  /** redis://[:password@]host[:port][/db] or rediss://... */
  url?: string;
  /** Prefix of every key and channel; instances sharing data must share it. Default 'skynet:'. */
  prefix?: string;
  /** Passed to ioredis as they are (Sentinel: { sentinels, name }; TLS: { tls }; ...). */
  redisOptions?: RedisOptions;
  /** Mosca's README spelling of redisOptions. */
  redisOpts?: RedisOptions;
  /** Redis Cluster start-up nodes; the Store and Emitter then use ioredis' Cluster client. */
  cluster?: ClusterNode[];
  /** Store only: milliseconds, Mosca's default 1 h each. */
  ttl?: { subscriptions?: number; packets?: number };
  /** Store only: offline messages kept per client. */
  maxQueuedMessages?: number;
  /**
   * Store only: milliseconds after which a broker instance that stopped renewing its liveness key
   * counts as dead and another instance takes over its duties (default 5000; renewed every third of it).
   */
  livenessTtl?: number;
  /**
   * Copies of the key layout, each under its own hash tag, so that Redis Cluster spreads them over
   * its masters: per-client state by client id, retained messages by topic, one Emitter stream
   * each (default 1: the single-slot layout). The Store and Emitter of every instance must agree.
   */
  shards?: number;
  /** Emitter only: approximate number of messages kept in the stream (MAXLEN ~). */
  maxStreamLength?: number;
  logger?: Logger;
  /** Mosca's Redis persistence sync channel. Accepted and unused: nothing is cached to sync. */
  channel?: string;
}

export type Connection =
  | { kind: 'single'; options: RedisOptions }
  | { kind: 'url'; url: string; options: RedisOptions }
  | { kind: 'cluster'; nodes: ClusterNode[]; options: RedisOptions };

/** Options after validation, with every default applied. */
export interface ResolvedOptions {
  connection: Connection;
  /** The key prefix as configured (for logs). */
  prefix: string;
  /** The prefix every key of each shard starts with (shards.ts); one shard: the single-slot layout's. */
  keyPrefixes: string[];
  ttl: { subscriptions: number; packets: number };
  maxQueuedMessages: number;
  livenessTtl: number;
  maxStreamLength: number;
  logger: Logger;
}

/** Milliseconds without a renewal after which an instance counts as dead (option livenessTtl). */
export const DEFAULT_LIVENESS_TTL = 5_000;

/** Most shards: each costs a script per shard in cross-shard calls and a reader connection per stream. */
export const MAX_SHARDS = 256;

/** Entries kept in the Emitter's stream: how far a reader may fall behind (an outage) without loss. */
export const DEFAULT_MAX_STREAM_LENGTH = 100_000;

const silent: Logger = { warn() {}, info() {}, error() {} };

const COMMON = ['host', 'port', 'db', 'password', 'url', 'prefix', 'redisOptions', 'redisOpts', 'cluster', 'logger', 'channel', 'shards'];
const STORE_ONLY = ['ttl', 'maxQueuedMessages', 'livenessTtl'];
const EMITTER_ONLY = ['maxStreamLength'];

function fail(text: string): never {
  throw new ConfigurationError(`Redis adapter: ${text}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(options: Record<string, unknown>, key: string, example: string): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) fail(`option ${key} must be a non-empty string such as ${example}`);
  return value;
}

function optionalInteger(value: unknown, name: string, min: number, max: number, example: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`option ${name} must be an integer from ${min} to ${max}, such as ${example}; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Mosca's configs wrote `url: 'localhost:6379'`: a host[:port][/db] without a scheme is read as redis://. */
function schemed(url: string | undefined): string | undefined {
  return url !== undefined && /^[\w.-]+(:\d+)?(\/\d+)?$/.test(url) ? `redis://${url}` : url;
}

function parseLogger(value: unknown): Logger {
  if (value === undefined) return silent;
  if (!isRecord(value) || !['warn', 'info', 'error'].every((m) => typeof value[m] === 'function')) {
    fail('option logger must have warn, info and error methods (a pino logger works)');
  }
  const logger = value as unknown as Logger;
  // Bound, so pino's methods keep their `this`.
  return { warn: (m) => logger.warn(m), info: (m) => logger.info(m), error: (m) => logger.error(m) };
}

function parseCluster(value: unknown): ClusterNode[] | undefined {
  if (value === undefined) return undefined;
  const valid = (node: unknown): boolean =>
    typeof node === 'string' || typeof node === 'number' || (isRecord(node) && (node.host === undefined || typeof node.host === 'string') && (node.port === undefined || typeof node.port === 'number'));
  if (!Array.isArray(value) || value.length === 0 || !value.every(valid)) {
    fail('option cluster must be a non-empty array of nodes such as [{ host: "10.0.0.1", port: 7000 }] or ["10.0.0.1:7000"]');
  }
  return value as ClusterNode[];
}

/**
 * Validates options given as plain data (from a config file or the CLI) and applies defaults.
 * `use` says which adapter reads them: Store-only options given to the Emitter are refused, so
 * a misplaced option is noticed rather than silently ignored.
 */
export function resolveOptions(input: Record<string, unknown> | RedisAdapterOptions, use: 'store' | 'emitter'): ResolvedOptions {
  if (!isRecord(input)) fail('options must be an object such as { host: "localhost", port: 6379 }');
  const options: Record<string, unknown> = input;
  const allowed = use === 'store' ? [...COMMON, ...STORE_ONLY] : [...COMMON, ...EMITTER_ONLY];
  for (const key of Object.keys(options)) {
    if (options[key] === undefined || allowed.includes(key)) continue;
    if (STORE_ONLY.includes(key)) fail(`option ${key} belongs to persistence (the Store), not to the backend (the Emitter)`);
    if (EMITTER_ONLY.includes(key)) fail(`option ${key} belongs to the backend (the Emitter), not to persistence (the Store)`);
    fail(`unknown option ${key}: known options are ${allowed.join(', ')}; pass ioredis options inside redisOptions`);
  }

  const host = optionalString(options, 'host', '"localhost"');
  const port = optionalInteger(options.port, 'port', 1, 65535, '6379');
  const db = optionalInteger(options.db, 'db', 0, 1_000_000, '0');
  const password = optionalString(options, 'password', '"secret"');
  const url = schemed(optionalString(options, 'url', '"redis://localhost:6379/0"'));
  const prefix = options.prefix === undefined ? 'skynet:' : optionalString(options, 'prefix', '"skynet:"')!;
  optionalString(options, 'channel', '"$SYS/moscaSync"');
  const cluster = parseCluster(options.cluster);
  const logger = parseLogger(options.logger);

  if (options.redisOptions !== undefined && options.redisOpts !== undefined) fail("give either redisOptions or redisOpts (Mosca's spelling of it), not both");
  const clientOptionsKey = options.redisOpts !== undefined ? 'redisOpts' : 'redisOptions';
  const clientOptions = options[clientOptionsKey];
  if (clientOptions !== undefined && !isRecord(clientOptions)) {
    fail(`option ${clientOptionsKey} must be an object of ioredis options such as { connectTimeout: 5000 }`);
  }
  const redisOptions = { ...((clientOptions as RedisOptions | undefined) ?? {}) };

  if (url !== undefined && !/^rediss?:\/\//.test(url)) fail(`option url must start with redis:// or rediss://; got ${url}`);
  if (url !== undefined && (host !== undefined || port !== undefined)) fail('give either url or host/port, not both');
  if (cluster && (url !== undefined || host !== undefined || port !== undefined)) fail('give either cluster or url/host/port, not both');
  if (cluster && /[{}]/.test(prefix)) fail('option prefix must not contain { or } on Cluster: it becomes the hash tag');
  if (cluster && db !== undefined && db !== 0) fail('Redis Cluster has only database 0: remove option db');

  // Explicit top-level options win over the same keys inside redisOptions, as in Mosca.
  if (host !== undefined) redisOptions.host = host;
  if (port !== undefined) redisOptions.port = port;
  if (db !== undefined) redisOptions.db = db;
  if (password !== undefined) redisOptions.password = password;

  let ttl = { subscriptions: DEFAULT_STORE_LIMITS.subscriptionsTtl as number, packets: DEFAULT_STORE_LIMITS.packetsTtl as number };
  if (options.ttl !== undefined) {
    if (!isRecord(options.ttl)) fail('option ttl must be an object such as { subscriptions: 3600000, packets: 3600000 } (milliseconds)');
    for (const key of Object.keys(options.ttl)) {
      if (key !== 'subscriptions' && key !== 'packets') fail(`unknown option ttl.${key}: use ttl.subscriptions and ttl.packets`);
    }
    ttl = {
      subscriptions: optionalInteger(options.ttl.subscriptions, 'ttl.subscriptions', 1, Number.MAX_SAFE_INTEGER, '3600000') ?? ttl.subscriptions,
      packets: optionalInteger(options.ttl.packets, 'ttl.packets', 1, Number.MAX_SAFE_INTEGER, '3600000') ?? ttl.packets,
    };
  }
  const maxQueuedMessages =
    optionalInteger(options.maxQueuedMessages, 'maxQueuedMessages', 1, Number.MAX_SAFE_INTEGER, '10000') ?? DEFAULT_STORE_LIMITS.maxQueuedMessages;
  const livenessTtl = optionalInteger(options.livenessTtl, 'livenessTtl', 300, 3_600_000, '5000') ?? DEFAULT_LIVENESS_TTL;
  const shards = optionalInteger(options.shards, 'shards', 1, MAX_SHARDS, '3 (a multiple of the Cluster\'s masters; 1, the default, keeps every key in one slot)') ?? 1;
  const maxStreamLength = optionalInteger(options.maxStreamLength, 'maxStreamLength', 1, Number.MAX_SAFE_INTEGER, '100000') ?? DEFAULT_MAX_STREAM_LENGTH;

  const connection: Connection = cluster
    ? { kind: 'cluster', nodes: cluster, options: redisOptions }
    : url !== undefined
      ? { kind: 'url', url, options: redisOptions }
      : { kind: 'single', options: redisOptions };

  return {
    connection,
    prefix,
    // On Cluster every key of a shard carries the shard's hash tag, so that each Lua script sees one slot.
    keyPrefixes: shardPrefixes(prefix, shards, cluster !== undefined),
    ttl,
    maxQueuedMessages,
    livenessTtl,
    maxStreamLength,
    logger,
  };
}
