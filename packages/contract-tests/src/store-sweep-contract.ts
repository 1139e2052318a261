import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '@skynet-mqtt/core';
import { message } from './fixtures.js';
import { sleep } from './wait.js';

/**
 * `sweepExpired()`: registered by storeContract inside its TTL tests. `ttlStore` makes an empty
 * Store with these TTLs; `track` closes it after the test.
 */
export function sweepContract(ttlStore: (ttl: { subscriptions: number; packets: number }) => Promise<Store>, track: (made: Promise<Store>) => Promise<Store>): void {
  test('sweepExpired forgets the sessions whose time ran out, with what they held, and only those', async () => {
    // A TTL of a second: 'recent' must still be alive when swept, however slow a loaded machine
    // makes the calls between its creation and the sweep.
    const store = await track(ttlStore({ subscriptions: 1_000, packets: 60_000 }));
    for (const id of ['gone-1', 'gone-2']) {
      await store.addSubscriptions(id, [{ topic: 'sw/+', qos: 1 }]);
      await store.enqueue(id, message('sw/x', 'queued', 1));
    }
    await store.addSubscriptions('connected', [{ topic: 'sw/+', qos: 1 }]);
    await store.setConnected('connected', true);
    await sleep(1_100);
    await store.addSubscriptions('recent', [{ topic: 'sw/+', qos: 2 }]);

    assert.equal(await store.sweepExpired(), 2, 'the two offline sessions past their TTL');
    assert.equal(await store.sweepExpired(), 0, 'nothing left to sweep');
    const found = (await store.subscriptionsByTopic('sw/x')).map((s) => `${s.clientId} ${s.qos} ${s.connected}`).sort();
    assert.deepEqual(found, ['connected 1 true', 'recent 2 false']);
    for (const id of ['gone-1', 'gone-2']) {
      assert.equal(await store.getSession(id), null);
      assert.deepEqual(await store.peekQueue(id, 10), []);
    }
    // A swept client that comes back starts afresh.
    await store.createSession('gone-1');
    assert.deepEqual(await store.getSession('gone-1'), []);
    assert.deepEqual(await store.peekQueue('gone-1', 10), []);
  });
}
