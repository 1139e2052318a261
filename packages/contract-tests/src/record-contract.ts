import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store, StoredRecord } from '@skynet-mqtt/core';
import { allBytes } from './fixtures.js';
import { sleep } from './wait.js';

/** The store under test, which a reopen replaces. */
export interface StoreSlot {
  get(): Store;
  set(store: Store): void;
}

function keysOf(records: readonly StoredRecord[]): string[] {
  return records.map((r) => r.key);
}

/** Every record of a collection, read page by page the way a plugin does. */
async function listAll(store: Store, collection: string, prefix: string | undefined, limit: number): Promise<StoredRecord[]> {
  const all: StoredRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listRecords(collection, { prefix, after, limit });
    all.push(...page);
    if (page.length < limit) return all;
    after = page[page.length - 1]!.key;
  }
}

/** Keys chosen so that UTF-8 byte order differs from naive UTF-16 order (the last two). */
const ORDERED_KEYS = ['a', 'a/b', 'a:b', 'b', 'device:1', 'device:2', 'z', '~', 'é', '\uFFFD', '\u{1F600}'];

/** The record part of the Store contract (putRecord, getRecord, deleteRecords, listRecords). */
export function recordContract(slot: StoreSlot, reopen?: () => Promise<Store>): void {
  describe('records', () => {
    test('are stored byte-exact, replaced, and kept apart per collection', async () => {
      const store = slot.get();
      assert.equal(await store.getRecord('devices', 'one'), null);
      await store.putRecord('devices', 'one', allBytes());
      await store.putRecord('tokens', 'one', Buffer.from('other collection'));
      await store.putRecord('devices', 'empty', Buffer.alloc(0));
      assert.deepEqual(await store.getRecord('devices', 'one'), allBytes());
      assert.deepEqual(await store.getRecord('tokens', 'one'), Buffer.from('other collection'));
      assert.deepEqual(await store.getRecord('devices', 'empty'), Buffer.alloc(0));
      await store.putRecord('devices', 'one', Buffer.from('replaced'));
      assert.deepEqual(await store.getRecord('devices', 'one'), Buffer.from('replaced'));
    });

    test('deleteRecords removes them and counts those that existed', async () => {
      const store = slot.get();
      await store.putRecord('c', 'x', Buffer.from('1'));
      await store.putRecord('c', 'y', Buffer.from('2'));
      assert.equal(await store.deleteRecords('c', ['x', 'y', 'never']), 2);
      assert.equal(await store.getRecord('c', 'x'), null);
      assert.deepEqual(await store.listRecords('c'), []);
      assert.equal(await store.deleteRecords('c', ['x']), 0);
      assert.equal(await store.deleteRecords('c', []), 0);
    });

    test('are listed in UTF-8 byte order of their keys, by prefix and page', async () => {
      const store = slot.get();
      for (const key of [...ORDERED_KEYS].reverse()) await store.putRecord('ordered', key, Buffer.from(`v:${key}`));
      await store.putRecord('ordered-not', 'a', Buffer.from('a record of another collection'));
      const all = await store.listRecords('ordered');
      assert.deepEqual(keysOf(all), ORDERED_KEYS);
      assert.deepEqual(all[3]!.value, Buffer.from('v:b'));
      assert.deepEqual(keysOf(await store.listRecords('ordered', { prefix: 'device:' })), ['device:1', 'device:2']);
      assert.deepEqual(keysOf(await store.listRecords('ordered', { prefix: 'a' })), ['a', 'a/b', 'a:b']);
      assert.deepEqual(keysOf(await store.listRecords('ordered', { after: 'device:2', limit: 3 })), ['z', '~', 'é']);
      assert.deepEqual(keysOf(await store.listRecords('ordered', { prefix: 'a', after: 'a/b' })), ['a:b']);
      assert.deepEqual(keysOf(await listAll(store, 'ordered', undefined, 2)), ORDERED_KEYS);
      assert.deepEqual(await store.listRecords('empty-collection'), []);
    });

    test('an expired record is gone for get, list and delete, whatever the backend sweeps', async () => {
      const store = slot.get();
      await store.putRecord('exp', 'past', Buffer.from('p'), Date.now() - 1000);
      // Margins a loaded machine keeps: 'soon' must still be there when first read back.
      await store.putRecord('exp', 'soon', Buffer.from('s'), Date.now() + 1500);
      await store.putRecord('exp', 'later', Buffer.from('l'), Date.now() + 60_000);
      await store.putRecord('exp', 'renewed', Buffer.from('r1'), Date.now() + 1500);
      await store.putRecord('exp', 'renewed', Buffer.from('r2')); // no expiry any more
      assert.equal(await store.getRecord('exp', 'past'), null);
      assert.deepEqual(await store.getRecord('exp', 'soon'), Buffer.from('s'));
      assert.deepEqual(keysOf(await store.listRecords('exp')), ['later', 'renewed', 'soon']);
      await sleep(1700);
      assert.equal(await store.getRecord('exp', 'soon'), null);
      assert.deepEqual(keysOf(await store.listRecords('exp')), ['later', 'renewed']);
      assert.deepEqual(await store.getRecord('exp', 'renewed'), Buffer.from('r2'));
      assert.equal(await store.deleteRecords('exp', ['soon', 'past', 'later']), 1);
    });

    test('paging skips expired records without ending early', async () => {
      const store = slot.get();
      for (let i = 0; i < 6; i++) await store.putRecord('gaps', `k${i}`, Buffer.from(String(i)), i % 2 === 0 ? Date.now() - 1 : undefined);
      assert.deepEqual(keysOf(await store.listRecords('gaps', { limit: 2 })), ['k1', 'k3']);
      assert.deepEqual(keysOf(await listAll(store, 'gaps', 'k', 1)), ['k1', 'k3', 'k5']);
    });

    test('bad collection names and keys are refused', async () => {
      const store = slot.get();
      await assert.rejects(store.putRecord('has space', 'k', Buffer.from('x')), TypeError);
      await assert.rejects(store.putRecord('', 'k', Buffer.from('x')), TypeError);
      await assert.rejects(store.putRecord('c', '', Buffer.from('x')), TypeError);
      await assert.rejects(store.getRecord('c', 'nul\u0000key'), TypeError);
      await assert.rejects(store.listRecords('a:b'), TypeError);
    });

    test('50 parallel puts are all kept', async () => {
      const store = slot.get();
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.putRecord('parallel', `p${String(i).padStart(2, '0')}`, Buffer.from(String(i)))));
      const all = await store.listRecords('parallel');
      assert.equal(all.length, 50);
      assert.deepEqual(all[49], { key: 'p49', value: Buffer.from('49') });
    });

    if (reopen) {
      test('survive close and reopen, expiry included', async () => {
        await slot.get().putRecord('kept', 'forever', allBytes());
        await slot.get().putRecord('kept', 'briefly', Buffer.from('b'), Date.now() + 2000);
        await slot.get().close();
        slot.set(await reopen());
        assert.deepEqual(await slot.get().getRecord('kept', 'forever'), allBytes());
        assert.deepEqual(keysOf(await slot.get().listRecords('kept')), ['briefly', 'forever']);
        await sleep(2200);
        assert.deepEqual(keysOf(await slot.get().listRecords('kept')), ['forever']);
      });
    }
  });
}
