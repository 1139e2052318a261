import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigurationError } from '@skynet-mqtt/core';
import { readFile } from 'node:fs/promises';
import { databaseName, withDatabase, DEFAULT_PUBSUB_MAX, DEFAULT_PUBSUB_SIZE, resolveEmitterOptions, resolveStoreOptions } from '../src/options.js';

const refuses = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => error instanceof ConfigurationError && pattern.test(error.message));
};

test("the database is the URL's path, 'skynet' when it has none", () => {
  assert.equal(databaseName('mongodb://127.0.0.1:27017/mqtt'), 'mqtt');
  assert.equal(databaseName('mongodb://u:p@h1:1,h2:2/prod?replicaSet=rs0'), 'prod');
  assert.equal(databaseName('mongodb+srv://cluster.example/db%20x?retryWrites=true'), 'db x');
  assert.equal(databaseName('mongodb://127.0.0.1:27017'), 'skynet');
  assert.equal(databaseName('mongodb://127.0.0.1:27017/?w=1'), 'skynet');
});

test('withDatabase names another database, keeping hosts and query', () => {
  assert.equal(withDatabase('mongodb://u:p@h1:1,h2:2/prod?replicaSet=rs0', 'test_1'), 'mongodb://u:p@h1:1,h2:2/test_1?replicaSet=rs0');
  assert.equal(withDatabase('mongodb://h', 'a b'), 'mongodb://h/a%20b');
  assert.equal(databaseName(withDatabase('mongodb+srv://c.example/?w=1', 'x')), 'x');
});

test('examples/mongodb.json holds valid options (starting it needs a MongoDB server)', async () => {
  const example = JSON.parse(await readFile(new URL('../../../../examples/mongodb.json', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
  const { type, ...backend } = example.backend!;
  const { factory, ...persistence } = example.persistence!;
  assert.deepEqual([type, factory], ['mongodb', 'mongodb']);
  assert.equal(resolveEmitterOptions(backend).database, 'skynet');
  assert.equal(resolveStoreOptions(persistence).ttl.packets, 3_600_000);
});

test("Mosca's persistence options: url, mongo, ttl, offlineMessageTimeout; our defaults", () => {
  const store = resolveStoreOptions({ url: 'mongodb://h/mosca', mongo: { maxPoolSize: 3 }, ttl: { subscriptions: 10 }, offlineMessageTimeout: 20 });
  assert.deepEqual([store.url, store.database, store.driver, store.ttl, store.prefix, store.maxQueuedMessages], ['mongodb://h/mosca', 'mosca', { maxPoolSize: 3 }, { subscriptions: 10, packets: 20 }, 'skynet.', 10_000]);
  const defaults = resolveStoreOptions({});
  assert.deepEqual([defaults.url, defaults.ttl], ['mongodb://127.0.0.1:27017/skynet', { subscriptions: 3_600_000, packets: 3_600_000 }]);
});

test("Mosca's backend options: url, pubsubCollection, mongo, size, max, wait; maxRetry accepted", () => {
  const emitter = resolveEmitterOptions({ url: 'mongodb://h/a', pubsubCollection: 'bus', size: 32 * 1024 * 1024, max: 5_000, wait: 50, maxRetry: 5 });
  assert.deepEqual([emitter.collection, emitter.size, emitter.max, emitter.wait, emitter.database], ['bus', 32 * 1024 * 1024, 5_000, 50, 'a']);
  const defaults = resolveEmitterOptions({});
  assert.deepEqual([defaults.collection, defaults.size, defaults.max, defaults.wait], ['pubsub', DEFAULT_PUBSUB_SIZE, DEFAULT_PUBSUB_MAX, 100]);
});

test('bad options stop with a message naming the key', () => {
  refuses(() => resolveStoreOptions({ url: 'redis://x' }), /^MongoDB store: option url must start with mongodb:\/\/ or mongodb\+srv:\/\//);
  refuses(() => resolveStoreOptions({ connection: {} }), /option connection \(a shared connection\) is not supported: give url, and driver options in mongo/);
  refuses(() => resolveEmitterOptions({ db: {} }), /^MongoDB emitter: option db \(a shared connection\) is not supported/);
  refuses(() => resolveStoreOptions({ pubsubCollection: 'x' }), /option pubsubCollection belongs to backend \(the Emitter\)/);
  refuses(() => resolveEmitterOptions({ ttl: {} }), /option ttl belongs to persistence \(the Store\)/);
  refuses(() => resolveStoreOptions({ poolSize: 3 }), /unknown option poolSize: known options are .*; pass driver options inside mongo/);
  refuses(() => resolveStoreOptions({ ttl: { packets: -1 } }), /option ttl.packets must be an integer/);
  refuses(() => resolveStoreOptions({ prefix: 'a$' }), /option prefix must not contain '\$'/);
  refuses(() => resolveEmitterOptions({ size: 1024 }), /option size must be an integer from 16777216/);
  refuses(() => resolveEmitterOptions({ pubsubCollection: 'system.x' }), /option pubsubCollection must not contain/);
});
