/**
 * Redis helpers for the scale-out tests: a unique key prefix per run (so that the shared Redis is
 * only ever touched under it), clean-up of that prefix, and the options of a Redis backend and
 * Store. PRIVATE redis-server processes, for the fault test, come from @skynet-mqtt/test-support.
 */
import { Redis } from 'ioredis';

/** The shared Redis, as the other suites use it. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let prefixes = 0;

/** A key prefix nobody else uses: `it:<pid>:<time>:<tag>:<n>:`. Everything under `it:<pid>:` is this process's. */
export function uniquePrefix(tag = 'scale'): string {
  return `it:${process.pid}:${Date.now()}:${tag}:${prefixes++}:`;
}

/** Escapes Redis glob characters, so that a prefix matches only itself in SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** Deletes every key that starts with `prefix` (SCAN MATCH + DEL), and returns how many there were. */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  if (prefix.length < 4) throw new Error(`refusing to delete keys under the short prefix ${JSON.stringify(prefix)}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** A short-lived ioredis connection for white-box checks (`fn` runs, then the connection closes). */
export async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** The Redis Emitter and Store of one deployment: every instance given these shares `prefix`. */
export function redisBackend(url: string, prefix: string, layout: { shards?: number } = {}): { backend: Record<string, unknown>; persistence: Record<string, unknown> } {
  return {
    backend: { type: 'redis', url, prefix, ...layout },
    persistence: { factory: 'redis', url, prefix, ...layout },
  };
}
