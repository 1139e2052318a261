import { after } from 'node:test';
import { Redis } from 'ioredis';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract, storeContract } from '@skynet-mqtt/contract-tests';
import { RedisEmitter, RedisStore } from '../src/index.js';

// The shared Redis: only keys under this run's own prefix are written, and deleted at the end.
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `test:${process.pid}:${Date.now()}:`;
let count = 0;
let latest = '';
/** Every store gets an empty namespace of its own, as the contract requires. */
function freshPrefix(): string {
  latest = `${base}${++count}:`;
  return latest;
}

storeContract('redis', async () => new RedisStore({ url, prefix: freshPrefix() }), {
  // The same prefix as the store just closed: what a restarted broker would see.
  reopen: async () => new RedisStore({ url, prefix: latest }),
  ttlStore: async (ttl) => new RedisStore({ url, prefix: freshPrefix(), ttl }),
  maxQueuedStore: async (max) => new RedisStore({ url, prefix: freshPrefix(), maxQueuedMessages: max }),
});

/**
 * Emitters made while others are open share their prefix (two brokers on one bus); the first
 * one made after all were closed starts a new prefix, so each test has a bus of its own.
 */
let open = 0;
let emitterPrefix = '';
async function makeEmitter(): Promise<Emitter> {
  if (open === 0) emitterPrefix = freshPrefix();
  open++;
  const emitter = new RedisEmitter({ url, prefix: emitterPrefix });
  let closed = false;
  return {
    publish: (m) => emitter.publish(m),
    subscribe: (f, h) => emitter.subscribe(f, h),
    unsubscribe: (f, h) => emitter.unsubscribe(f, h),
    close: async () => {
      if (!closed) open--;
      closed = true;
      await emitter.close();
    },
  };
}

emitterContract('redis', makeEmitter);

after(async () => {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
});
