import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Message } from '@skynet-mqtt/core';
import { copyRetained, RedisStore } from '../src/index.js';
import { deleteKeysUnder } from './helpers.js';

/** Moving retained messages from the single-slot layout to shards: 3 (shared Redis, this run's own prefix). */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `test:copy:${process.pid}:${Date.now()}:`;
const raw = new Redis(url);

after(async () => {
  await deleteKeysUnder(raw, base);
  await raw.quit();
});

function retained(topic: string, expiresAt?: number): Message {
  const message: Message = { id: `id-${topic}`, topic, payload: Buffer.from(`payload of ${topic}`), qos: 1, retain: true };
  if (expiresAt !== undefined) message.expiresAt = expiresAt;
  return message;
}

test('copyRetained moves every live retained message, $ topics included, into shards; it can run again', async () => {
  const old = { url, prefix: base };
  const sharded = { url, prefix: base, shards: 3 };
  const source = new RedisStore(old);
  const topics = [...Array.from({ length: 40 }, (_, i) => `room/${i}/temp`), '$app/status', 'solo'];
  for (const topic of topics) await source.storeRetained(retained(topic));
  await source.storeRetained(retained('later', Date.now() + 60_000));
  await source.storeRetained(retained('gone', Date.now() + 50));
  await source.close();
  await new Promise((resolve) => setTimeout(resolve, 100));

  assert.equal(await copyRetained(old, sharded), topics.length + 1, 'the expired one is not copied');
  assert.equal(await copyRetained(old, sharded), topics.length + 1);
  const target = new RedisStore(sharded);
  try {
    assert.equal(await target.countRetained(), topics.length + 1, 'copied twice, stored once');
    const found = await target.matchRetained(['#', '$app/#']);
    assert.deepEqual(found.map((m) => m.topic).sort(), [...topics, 'later'].sort());
    const later = found.find((m) => m.topic === 'later')!;
    assert.equal(later.payload.toString(), 'payload of later');
    assert.ok(later.expiresAt !== undefined && later.expiresAt > Date.now(), 'its expiry came along');
    const perShard = await Promise.all([0, 1, 2].map((i) => raw.hlen(`${base}shard${i}of3:retained`)));
    assert.ok(perShard.every((count) => count > 0), `every shard holds some: ${perShard.join(', ')}`);
  } finally {
    await target.close();
  }
});
