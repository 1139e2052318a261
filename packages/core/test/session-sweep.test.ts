/**
 * Issue 8, item 9: durable sessions whose clients never return used to stay in the memory Store
 * for good (it expired them only when read, and nobody reads them). The broker now sweeps the
 * Store every `sessionSweepInterval`; each Store's sweepExpired() is held to the Store contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../src/index.js';
import { harness, roundTrip, waitFor } from './helpers.js';

test('durable sessions of clients that never return are swept once their ttl.subscriptions ran out', async (t) => {
  const store = new MemoryStore({ ttl: { subscriptions: 300 } });
  let swept = 0;
  const sweep = store.sweepExpired.bind(store);
  store.sweepExpired = async () => {
    const count = await sweep();
    swept += count;
    return count;
  };
  const h = await harness(t, { persistence: store, sessionSweepInterval: 100 });
  const watcher = await h.connect();
  // 200 durable clients with unique ids, through raw sockets, each gone without a word.
  for (let i = 0; i < 200; i++) {
    const raw = await h.connectRaw({ clientId: `one-off-${i}`, clean: false });
    await raw.subscribe([{ topic: `one-off/${i}`, qos: 1 }]);
    raw.close();
  }
  await waitFor(() => Object.keys(h.server.clients).length === 1, 'the 200 connections to end');
  await waitFor(() => swept === 200, 'the 200 sessions to be swept', 10_000);
  assert.equal(await store.sweepExpired(), 0);
  assert.deepEqual(await store.subscriptionsByTopic('one-off/7'), []);
  await roundTrip(watcher); // the broker still serves
});
