import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STORE_LIMITS } from '@skynet-mqtt/core';
import calculateSlot from 'cluster-key-slot';
import { resolveOptions } from '../src/options.js';
import { createEmitter, createStore } from '../src/index.js';

describe('Redis adapter options', () => {
  test('Mosca-style options are accepted, with defaults', () => {
    const resolved = resolveOptions({ host: 'redis.local', port: 6380, db: 2, password: 'pw', channel: '$SYS/moscaSync' }, 'store');
    assert.deepEqual(resolved.connection, { kind: 'single', options: { host: 'redis.local', port: 6380, db: 2, password: 'pw' } });
    assert.deepEqual(resolved.keyPrefixes, ['skynet:']);
    assert.deepEqual(resolved.ttl, { subscriptions: DEFAULT_STORE_LIMITS.subscriptionsTtl, packets: DEFAULT_STORE_LIMITS.packetsTtl });
    assert.equal(resolved.maxQueuedMessages, DEFAULT_STORE_LIMITS.maxQueuedMessages);
  });

  test('url, prefix, ttl, maxQueuedMessages and redisOptions', () => {
    const resolved = resolveOptions(
      { url: 'redis://h:1/3', prefix: 'p:', ttl: { packets: 5 }, maxQueuedMessages: 7, redisOptions: { connectTimeout: 100 } },
      'store',
    );
    assert.deepEqual(resolved.connection, { kind: 'url', url: 'redis://h:1/3', options: { connectTimeout: 100 } });
    assert.deepEqual(resolved.keyPrefixes, ['p:']);
    assert.deepEqual(resolved.ttl, { subscriptions: DEFAULT_STORE_LIMITS.subscriptionsTtl, packets: 5 });
    assert.equal(resolved.maxQueuedMessages, 7);
  });

  test("Mosca's spellings: url without a scheme (host[:port][/db]) and redisOpts for redisOptions", () => {
    assert.deepEqual(resolveOptions({ url: 'localhost:6379' }, 'store').connection, { kind: 'url', url: 'redis://localhost:6379', options: {} });
    assert.deepEqual(resolveOptions({ url: 'redis-1.lan' }, 'emitter').connection, { kind: 'url', url: 'redis://redis-1.lan', options: {} });
    assert.deepEqual(resolveOptions({ url: 'h:1/2' }, 'store').connection, { kind: 'url', url: 'redis://h:1/2', options: {} });
    assert.deepEqual(resolveOptions({ redisOpts: { connectTimeout: 50 } }, 'store').connection, { kind: 'single', options: { connectTimeout: 50 } });
    assert.throws(() => resolveOptions({ redisOpts: {}, redisOptions: {} }, 'store'), /give either redisOptions or redisOpts/);
    assert.throws(() => resolveOptions({ redisOpts: 'x' }, 'store'), /option redisOpts must be an object/);
    assert.throws(() => resolveOptions({ url: 'http://h:1' }, 'store'), /url must start with redis:\/\/ or rediss:\/\//);
  });

  test('maxStreamLength: 100 000 by default, settable on the Emitter', () => {
    assert.equal(resolveOptions({}, 'emitter').maxStreamLength, 100_000);
    assert.equal(resolveOptions({ maxStreamLength: 500 }, 'emitter').maxStreamLength, 500);
  });

  test('cluster wraps the prefix in a hash tag', () => {
    const resolved = resolveOptions({ cluster: [{ host: 'a', port: 7000 }, 'b:7001'], prefix: 'mq:' }, 'emitter');
    assert.equal(resolved.connection.kind, 'cluster');
    assert.deepEqual(resolved.keyPrefixes, ['{mq:}']);
  });

  test('shards: copies of the layout under their own hash tags, each in its Nth of the slot space', () => {
    assert.deepEqual(resolveOptions({ prefix: 'mq:', shards: 1 }, 'store').keyPrefixes, ['mq:']);
    assert.deepEqual(resolveOptions({ prefix: 'mq:', shards: 2 }, 'store').keyPrefixes, ['mq:shard0of2:', 'mq:shard1of2:']);
    const tags = resolveOptions({ cluster: ['a:1'], prefix: 'mq:', shards: 3 }, 'emitter').keyPrefixes;
    assert.equal(tags.length, 3);
    tags.forEach((tag, i) => {
      assert.match(tag, new RegExp(`^\\{mq:shard${i}of3-\\d+\\}$`));
      const slot = calculateSlot(tag);
      assert.ok(slot >= Math.ceil((i * 16384) / 3) && slot < Math.ceil(((i + 1) * 16384) / 3), `${tag}: slot ${slot}`);
    });
  });

  const refused: [string, Record<string, unknown>, 'store' | 'emitter', RegExp][] = [
    ['no shards', { shards: 0 }, 'store', /option shards must be an integer from 1 to 256/],
    ['a fraction of a shard', { shards: 1.5 }, 'emitter', /option shards must be an integer from 1 to 256/],
    ['an unknown option', { hots: 'x' }, 'store', /unknown option hots.*redisOptions/],
    ['a port given as a string', { port: '6379' }, 'store', /port must be an integer/],
    ['a port out of range', { port: 70000 }, 'store', /port must be an integer from 1 to 65535/],
    ['a negative db', { db: -1 }, 'store', /db must be an integer/],
    ['an empty prefix', { prefix: '' }, 'store', /prefix must be a non-empty string/],
    ['a url that is not redis://', { url: 'http://x' }, 'store', /url must start with redis:\/\//],
    ['url and host together', { url: 'redis://x', host: 'y' }, 'store', /either url or host\/port/],
    ['cluster and host together', { cluster: ['a:1'], host: 'y' }, 'store', /either cluster or url/],
    ['cluster with a db', { cluster: ['a:1'], db: 1 }, 'store', /only database 0/],
    ['cluster nodes that are not nodes', { cluster: [true] }, 'store', /cluster must be a non-empty array/],
    ['ttl as a number', { ttl: 1000 }, 'store', /ttl must be an object/],
    ['an unknown ttl key', { ttl: { packet: 1 } }, 'store', /unknown option ttl.packet/],
    ['a zero ttl', { ttl: { packets: 0 } }, 'store', /ttl.packets must be an integer/],
    ['maxQueuedMessages of 0', { maxQueuedMessages: 0 }, 'store', /maxQueuedMessages must be an integer/],
    ['redisOptions that is not an object', { redisOptions: 'x' }, 'store', /redisOptions must be an object/],
    ['a logger without methods', { logger: {} }, 'store', /logger must have warn, info and error/],
    ['a Store option given to the Emitter', { ttl: { packets: 1 } }, 'emitter', /belongs to persistence/],
    ['an Emitter option given to the Store', { maxStreamLength: 10 }, 'store', /belongs to the backend/],
    ['a maxStreamLength of 0', { maxStreamLength: 0 }, 'emitter', /maxStreamLength must be an integer/],
  ];
  for (const [what, options, use, message] of refused) {
    test(`refuses ${what}`, () => {
      assert.throws(() => resolveOptions(options, use), message);
    });
  }

  test('the factories reject bad options before connecting', async () => {
    await assert.rejects(createStore({ port: 'nope' }), /port must be an integer/);
    await assert.rejects(createEmitter({ maxQueuedMessages: 5 }), /belongs to persistence/);
  });
});
