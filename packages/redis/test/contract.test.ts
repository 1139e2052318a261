import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisEmitter, RedisStore } from '../src/index.js';
import { deleteKeysUnder, redisContracts } from './helpers.js';

// The shared Redis: only keys under this run's own prefix are written, and deleted at the end.
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `test:${process.pid}:${Date.now()}:`;

redisContracts('redis', { url }, base);
// Sharded (option shards): the same contracts over three copies of the layout on one Redis.
redisContracts('redis shards=3', { url }, `${base}s`, { shards: 3 });

test('a Store and an Emitter on the same Redis and prefix with different shards are refused, saying why', async () => {
  const prefix = `${base}mismatch:`;
  const store = new RedisStore({ url, prefix, shards: 3 });
  const emitter = new RedisEmitter({ url, prefix });
  const matching = new RedisEmitter({ url, prefix, shards: 3 });
  try {
    assert.throws(() => store.sharesIncomingWith(emitter), /the backend \(Emitter\) has 1 shard\(s\) and persistence \(the Store\) 3 .* give both the same shards/);
    assert.equal(store.sharesIncomingWith(matching), true);
  } finally {
    await Promise.all([store.close(), emitter.close(), matching.close()]);
  }
});

after(async () => {
  const redis = new Redis(url);
  await deleteKeysUnder(redis, base);
  await redis.quit();
});
