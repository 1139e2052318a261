import type { Redis } from 'ioredis';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract, onFirstClose, storeContract } from '@skynet-mqtt/contract-tests';
import { RedisEmitter, RedisStore, type Logger, type RedisAdapterOptions } from '../src/index.js';

/** Records log lines, to check an outage is logged once and not per command. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), info: (m) => lines.push(`info ${m}`), error: (m) => lines.push(`error ${m}`) };
}

/** Tracks a promise's outcome without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: () => boolean; rejected: () => unknown; promise: Promise<T> } {
  let settled = false;
  let rejection: unknown = null;
  promise.then(
    () => (settled = true),
    (error: unknown) => {
      settled = true;
      rejection = error;
    },
  );
  return { settled: () => settled, rejected: () => rejection, promise };
}

/**
 * Runs the Store and Emitter contracts on adapters connected with `connection` ({ url } or
 * { cluster }). Every store gets an empty namespace of its own, `<base><n>:`, as the contract
 * requires; `reopen` uses the prefix of the store just closed: what a restarted broker would see.
 * Emitters made while others are open share their prefix (two brokers on one bus); the first one
 * made after all were closed starts a new prefix, so each test has a bus of its own. `layout`:
 * the key layout's options (shards), the same for Store and Emitter.
 */
export function redisContracts(name: string, connection: Pick<RedisAdapterOptions, 'url' | 'cluster'>, base: string, layout: Pick<RedisAdapterOptions, 'shards'> = {}): void {
  let count = 0;
  let latest = '';
  const freshPrefix = (): string => {
    latest = `${base}${++count}:`;
    return latest;
  };

  storeContract(name, async () => new RedisStore({ ...connection, ...layout, prefix: freshPrefix() }), {
    reopen: async () => new RedisStore({ ...connection, ...layout, prefix: latest }),
    ttlStore: async (ttl) => new RedisStore({ ...connection, ...layout, prefix: freshPrefix(), ttl }),
    maxQueuedStore: async (max) => new RedisStore({ ...connection, ...layout, prefix: freshPrefix(), maxQueuedMessages: max }),
  });

  let open = 0;
  let emitterPrefix = '';
  emitterContract(name, async (): Promise<Emitter> => {
    if (open === 0) emitterPrefix = freshPrefix();
    open++;
    return onFirstClose(new RedisEmitter({ ...connection, ...layout, prefix: emitterPrefix }), () => open--);
  });
}

/** Unlinks every key that starts with `prefix` (SCAN MATCH + UNLINK), on the shared Redis. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
