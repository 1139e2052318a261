import { AdapterOptions, ConfigurationError, type AdapterLogger, type StoreOptions } from '@skynet-mqtt/core';

/** Options of the LevelDB store: where the database lives, plus the limits every Store has. */
export interface LevelStoreOptions extends StoreOptions {
  /** Directory of the LevelDB database; created when missing. */
  path: string;
  /** Where the store logs (the broker hands its own logger); silent when unset. */
  logger?: AdapterLogger;
}

// `factory` is the adapter selector of `persistence`, which core normally strips but a caller may not.
const KNOWN_KEYS = new Set(['path', 'ttl', 'maxQueuedMessages', 'factory', 'logger']);
// Mosca documented ttl.checkFrequency but never used it; accept it so old configs keep loading.
const KNOWN_TTL_KEYS = new Set(['subscriptions', 'packets', 'checkFrequency']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveNumber(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`${name} must be a positive number of milliseconds`);
  }
  return value;
}

/** Checks the untyped `persistence` options of a config file and returns them typed. */
export function parseLevelOptions(options: Record<string, unknown>): LevelStoreOptions {
  const unknown = Object.keys(options).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(`unknown option${unknown.length > 1 ? 's' : ''} for the level store: ${unknown.join(', ')} (known: path, ttl, maxQueuedMessages, logger)`);
  }
  const { path, ttl, maxQueuedMessages, logger } = options;
  if (typeof path !== 'string' || path.length === 0) {
    throw new ConfigurationError('persistence.path is required for the level store: the directory where the database lives');
  }
  const parsed: LevelStoreOptions = { path };
  if (logger !== undefined) parsed.logger = new AdapterOptions('level store', { logger }).logger();
  if (ttl !== undefined) {
    if (!isRecord(ttl)) throw new ConfigurationError('persistence.ttl must be an object such as { subscriptions: 3600000, packets: 3600000 }');
    const unknownTtl = Object.keys(ttl).filter((key) => !KNOWN_TTL_KEYS.has(key));
    if (unknownTtl.length > 0) throw new ConfigurationError(`unknown persistence.ttl option${unknownTtl.length > 1 ? 's' : ''}: ${unknownTtl.join(', ')} (known: subscriptions, packets)`);
    const subscriptions = positiveNumber(ttl.subscriptions, 'persistence.ttl.subscriptions');
    const packets = positiveNumber(ttl.packets, 'persistence.ttl.packets');
    parsed.ttl = {};
    if (subscriptions !== undefined) parsed.ttl.subscriptions = subscriptions;
    if (packets !== undefined) parsed.ttl.packets = packets;
  }
  if (maxQueuedMessages !== undefined) {
    if (typeof maxQueuedMessages !== 'number' || !Number.isInteger(maxQueuedMessages) || maxQueuedMessages < 0) {
      throw new ConfigurationError('persistence.maxQueuedMessages must be a non-negative integer');
    }
    parsed.maxQueuedMessages = maxQueuedMessages;
  }
  return parsed;
}
