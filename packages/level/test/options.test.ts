import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TempDirs } from '@skynet-mqtt/test-support';
import { createStore, parseLevelOptions } from '../src/index.js';

const dirs = new TempDirs('skynet-level-');
after(() => dirs.removeAll());

describe('createStore options', () => {
  test('path is required and must be a non-empty string', async () => {
    const message = /persistence\.path is required for the level store: the directory where the database lives/;
    await assert.rejects(createStore({}), message);
    await assert.rejects(createStore({ path: 42 }), message);
    await assert.rejects(createStore({ path: '' }), message);
  });

  test('unknown keys are named; factory is allowed', async () => {
    await assert.rejects(createStore({ path: '/tmp/x', db: 'leveldown', valueEncoding: 'json' }), /unknown options for the level store: db, valueEncoding/);
    await assert.rejects(createStore({ path: '/tmp/x', ttl: { packet: 1 } }), /unknown persistence\.ttl option: packet/);
    assert.deepEqual(parseLevelOptions({ factory: 'level', path: '/tmp/x' }), { path: '/tmp/x' });
  });

  test('ttl and maxQueuedMessages are checked', () => {
    assert.throws(() => parseLevelOptions({ path: 'p', ttl: 5 }), /persistence\.ttl must be an object/);
    assert.throws(() => parseLevelOptions({ path: 'p', ttl: { subscriptions: -1 } }), /persistence\.ttl\.subscriptions must be a positive number/);
    assert.throws(() => parseLevelOptions({ path: 'p', ttl: { packets: '1h' } }), /persistence\.ttl\.packets must be a positive number/);
    assert.throws(() => parseLevelOptions({ path: 'p', maxQueuedMessages: 1.5 }), /maxQueuedMessages must be a non-negative integer/);
    // Mosca's documented (and unused) ttl.checkFrequency still loads.
    assert.deepEqual(parseLevelOptions({ path: 'p', ttl: { subscriptions: 10, packets: 20, checkFrequency: 5 }, maxQueuedMessages: 0 }), {
      path: 'p',
      ttl: { subscriptions: 10, packets: 20 },
      maxQueuedMessages: 0,
    });
  });

  test('createStore opens a working store at path (the directory is created)', async () => {
    const store = await createStore({ factory: 'level', path: await dirs.path('db'), ttl: { packets: 1000 }, maxQueuedMessages: 5 });
    await store.createSession('a');
    assert.deepEqual(await store.getSession('a'), []);
    await store.close();
  });
});
