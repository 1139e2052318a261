import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '@skynet-mqtt/core';
import { allBytes, message } from './fixtures.js';

/**
 * `claimOrphanedWills()`: registered by storeContract. `current()` is the test's store; `reopen`
 * (adapters that persist) opens a new instance over its data once it is closed; `track` closes a
 * store after the test.
 */
export function orphanedWillContract(current: () => Store, track: (made: Promise<Store>) => Promise<Store>, reopen?: () => Promise<Store>): void {
  test("the wills a running store holds are its own connections': none is orphaned", async () => {
    const store = current();
    await store.putWill('alive', message('w/alive', 'bye', 1));
    assert.deepEqual(await store.claimOrphanedWills(), []);
    assert.notEqual(await store.getWill('alive'), null);
  });

  if (!reopen) return;
  test('the wills left by a store instance that is gone are claimed once, byte-exact, by the next one', async () => {
    const first = current();
    const binary = message('w/binary', allBytes(), 2, true);
    await first.putWill('crashed-a', message('w/a', 'gone', 1));
    await first.putWill('crashed-b', binary);
    await first.putWill('ended', message('w/ended', 'bye', 0));
    await first.deleteWill('ended'); // its connection ended: no will left
    await first.close();

    const next = await track(reopen());
    await next.putWill('fresh', message('w/fresh', 'mine', 0));
    const claimed = (await next.claimOrphanedWills()).sort((x, y) => x.clientId.localeCompare(y.clientId));
    assert.deepEqual(claimed.map((c) => c.clientId), ['crashed-a', 'crashed-b']);
    const b = claimed[1]!.will;
    assert.ok(b.payload.equals(binary.payload) && b.topic === binary.topic && b.qos === 2 && b.retain === true, 'the will comes back byte-exact');
    assert.deepEqual(await next.claimOrphanedWills(), [], 'claimed once');
    assert.equal(await next.getWill('crashed-a'), null);
    assert.notEqual(await next.getWill('fresh'), null, "the running instance's own will stays");
  });
}
