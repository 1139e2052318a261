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

test('shards: 3: each publisher keeps its order across instances, and its messages use one stream', async () => {
  const prefix = `${base}order:`;
  const a = new RedisEmitter({ url, prefix, shards: 3 });
  const b = new RedisEmitter({ url, prefix, shards: 3 });
  try {
    const received = new Map<string, number[]>();
    await b.subscribe('order/#', (message) => {
      const [publisher, seq] = message.payload.toString().split(':');
      received.set(publisher!, [...(received.get(publisher!) ?? []), Number(seq)]);
    });
    await a.subscribe('order/#', () => undefined);
    const publishers = Array.from({ length: 6 }, (_, i) => `publisher-${i}`);
    const streams = new Map<string, Set<number>>();
    const sent: Promise<number>[] = [];
    for (let seq = 1; seq <= 100; seq++) {
      for (const publisher of publishers) {
        const position = a.publish({ id: `${publisher}-${seq}`, topic: `order/${seq % 7}`, payload: Buffer.from(`${publisher}:${seq}`), qos: 1, retain: false }, publisher);
        sent.push(position.then((p) => (streams.set(publisher, (streams.get(publisher) ?? new Set()).add(p % 3)), p)));
      }
    }
    await Promise.all(sent);
    await b.sync();
    const inOrder = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const publisher of publishers) {
      assert.deepEqual(received.get(publisher), inOrder, `${publisher}'s messages, in order`);
      assert.equal(streams.get(publisher)!.size, 1, `${publisher}'s messages all in one stream`);
    }
    assert.ok(new Set([...streams.values()].map((set) => [...set][0])).size > 1, 'the publishers use more than one stream');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

after(async () => {
  const redis = new Redis(url);
  await deleteKeysUnder(redis, base);
  await redis.quit();
});
