import { after } from 'node:test';
import { Redis } from 'ioredis';
import { deleteKeysUnder, redisContracts } from './helpers.js';

// The shared Redis: only keys under this run's own prefix are written, and deleted at the end.
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `test:${process.pid}:${Date.now()}:`;

redisContracts('redis', { url }, base);
// Sharded (option shards): the same contracts over three copies of the layout on one Redis.
redisContracts('redis shards=3', { url }, `${base}s`, { shards: 3 });

after(async () => {
  const redis = new Redis(url);
  await deleteKeysUnder(redis, base);
  await redis.quit();
});
