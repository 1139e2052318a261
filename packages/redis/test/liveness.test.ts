import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { sleep } from '@skynet-mqtt/contract-tests';
import { RedisStore } from '../src/index.js';
import { DEFAULT_LIVENESS_TTL } from '../src/options.js';
import { deleteKeysUnder } from './helpers.js';

/**
 * A durable session is connected only while the Store instance that connected it is alive: a
 * crashed broker must not leave its sessions "connected" forever, or publishers would never
 * queue for them again. Shared Redis, keys under this run's own prefix only.
 */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `test:live:${process.pid}:${Date.now()}:`;
let count = 0;
const raw = new Redis(url);
const open: RedisStore[] = [];

/** Two instances on one fresh prefix: two brokers sharing a Redis. */
function pair(): { a: RedisStore; b: RedisStore; prefix: string } {
  const prefix = `${base}${++count}:`;
  const a = new RedisStore({ url, prefix });
  const b = new RedisStore({ url, prefix });
  open.push(a, b);
  return { a, b, prefix };
}

async function connectedOf(store: RedisStore, topic: string): Promise<boolean[]> {
  return (await store.subscriptionsByTopic(topic)).map((s) => s.connected);
}

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

after(async () => {
  await deleteKeysUnder(raw, base);
  await raw.quit();
});

describe('RedisStore session liveness', () => {
  test('a session connected through a crashed instance counts as disconnected once its liveness key is gone', async () => {
    const { a, b, prefix } = pair();
    await a.addSubscriptions('c', [{ topic: 'l/+', qos: 1 }]);
    await a.setConnected('c', true);
    assert.equal(await raw.hget(`${prefix}session:c`, 'connected'), a.instanceId, 'the owner is recorded');
    const ttl = await raw.pttl(`${prefix}alive:${a.instanceId}`);
    assert.ok(ttl > 0 && ttl <= DEFAULT_LIVENESS_TTL, `liveness key PTTL ${ttl}`);
    assert.deepEqual(await connectedOf(b, 'l/x'), [true]);

    // A crash: nobody renews A's key, and it expires (deleted here rather than waited for).
    await raw.del(`${prefix}alive:${a.instanceId}`);
    assert.deepEqual(await connectedOf(b, 'l/x'), [false]);
    assert.deepEqual(await connectedOf(a, 'l/x'), [false], 'the same answer from any instance');

    // Another broker takes the client over: connected again, under the new owner.
    await b.setConnected('c', true);
    assert.deepEqual(await connectedOf(a, 'l/x'), [true]);
    await b.setConnected('c', false);
    assert.deepEqual(await connectedOf(a, 'l/x'), [false]);
  });

  test('close deletes the liveness key: sessions it still marked count as disconnected', async () => {
    const { a, b, prefix } = pair();
    await a.addSubscriptions('c', [{ topic: 'l/c', qos: 2 }]);
    await a.setConnected('c', true);
    await a.close();
    assert.equal(await raw.exists(`${prefix}alive:${a.instanceId}`), 0);
    assert.deepEqual(await connectedOf(b, 'l/c'), [false]);
  });

  test('an owner that was only slow renews its key and its sessions are connected again', async () => {
    const { a, b, prefix } = pair();
    await a.addSubscriptions('c', [{ topic: 'l/s', qos: 1 }]);
    await a.setConnected('c', true);
    await raw.del(`${prefix}alive:${a.instanceId}`);
    assert.deepEqual(await connectedOf(b, 'l/s'), [false]);
    await sleep(DEFAULT_LIVENESS_TTL / 3 + 300);
    assert.deepEqual(await connectedOf(b, 'l/s'), [true]);
  });

  test('an instance that closes its connection late does not mark offline a session another instance connected since', async () => {
    const { a, b, prefix } = pair();
    await a.addSubscriptions('c', [{ topic: 'l/late', qos: 1 }]);
    await a.setConnected('c', true);
    await b.setConnected('c', true); // the client came back through B before A finished closing
    await a.setConnected('c', false);
    assert.equal(await raw.hget(`${prefix}session:c`, 'connected'), b.instanceId);
    assert.deepEqual(await connectedOf(a, 'l/late'), [true]);
    assert.equal(await raw.pttl(`${prefix}session:c`), -1, 'a connected session does not expire');
    // A message queued now is queued for a connected session: its connection must be told.
    assert.equal((await a.enqueue('c', { id: 'late-1', topic: 'l/late', payload: Buffer.from('x'), qos: 1, retain: false })).connected, true);
    await b.setConnected('c', false);
    assert.deepEqual(await connectedOf(a, 'l/late'), [false]);
    assert.ok((await raw.pttl(`${prefix}session:c`)) > 0);
  });

  test("the marker '1' of earlier versions still means connected", async () => {
    const { a, b, prefix } = pair();
    await a.addSubscriptions('c', [{ topic: 'l/o', qos: 1 }]);
    await raw.hset(`${prefix}session:c`, 'connected', '1');
    assert.deepEqual(await connectedOf(b, 'l/o'), [true]);
  });
});
