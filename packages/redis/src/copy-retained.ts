import type { RedisAdapterOptions } from './options.js';
import { RedisStore } from './redis-store.js';

/**
 * Copies every retained message of one Redis layout into another (docs/backends/redis.md, moving
 * a deployment to shards): the target records each one's shard, first level and expiry afresh, and
 * a message it has already is replaced, so a copy may run again. Expired messages are not copied.
 * Run it while no broker writes to either. Resolves with the number copied.
 */
export async function copyRetained(from: RedisAdapterOptions, to: RedisAdapterOptions): Promise<number> {
  const source = new RedisStore(from);
  const target = new RedisStore(to);
  try {
    let copied = 0;
    const now = Date.now();
    for await (const page of source.allRetained()) {
      const live = page.filter((message) => message.expiresAt === undefined || message.expiresAt > now);
      await Promise.all(live.map((message) => target.storeRetained(message)));
      copied += live.length;
    }
    return copied;
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}
