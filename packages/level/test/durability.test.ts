import { after, afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClassicLevel } from 'classic-level';
import type { Message } from '@skynet-mqtt/core';
import { takeQueue } from '@skynet-mqtt/contract-tests';
import { TempDirs } from '@skynet-mqtt/test-support';
import { LevelStore } from '../src/index.js';
import { startChild } from './helpers/spawn.js';

const dirs = new TempDirs('skynet-level-');
after(() => dirs.removeAll());

let made = 0;
const msg = (topic: string, qos: 0 | 1 | 2 = 1): Message => ({ id: `m-${made++}`, topic, payload: Buffer.from('p'), qos, retain: false });

interface Recorded {
  sync: boolean;
  keys: string[];
}

describe('durability', () => {
  // Spy on batch (the store writes only through it) to see which calls ask for fsync.
  const originalBatch = ClassicLevel.prototype.batch;
  let recorded: Recorded[] = [];
  beforeEach(() => {
    recorded = [];
    ClassicLevel.prototype.batch = function (this: ClassicLevel, ...args: unknown[]) {
      const [ops, options] = args as [{ key: string }[] | undefined, { sync?: boolean } | undefined];
      if (Array.isArray(ops)) recorded.push({ sync: options?.sync === true, keys: ops.map((op) => op.key) });
      return (originalBatch as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof originalBatch;
  });
  afterEach(() => {
    ClassicLevel.prototype.batch = originalBatch;
  });

  /** The sync flag of the one batch that `call` wrote. */
  async function syncOf(call: () => Promise<unknown>): Promise<boolean> {
    recorded = [];
    await call();
    assert.equal(recorded.length, 1, `one batch per call, got ${JSON.stringify(recorded)}`);
    return recorded[0]!.sync;
  }

  test('writes a client sees acknowledged are synced; the others are not', async () => {
    const store = await LevelStore.open({ path: await dirs.path('db') });
    await store.createSession('c');
    assert.equal(await syncOf(() => store.addSubscriptions('c', [{ topic: 't', qos: 1 }])), true, 'SUBACK');
    assert.equal(await syncOf(() => store.removeSubscriptions('c', ['t'])), true, 'UNSUBACK');
    assert.equal(await syncOf(() => store.enqueue('c', msg('q', 1))), true, 'PUBACK of a queued QoS 1');
    assert.equal(await syncOf(() => store.enqueue('c', msg('q', 0))), false, 'QoS 0 is not acknowledged');
    assert.equal(await syncOf(() => store.putOutgoing('c', { ...msg('o', 2), messageId: 1 })), true, 'in flight before sending');
    assert.equal(await syncOf(() => store.putIncoming('c', 1)), true, 'PUBREC');
    assert.equal(await syncOf(() => store.storeRetained({ ...msg('r', 1), retain: true })), true, 'PUBACK of a retained QoS 1');
    assert.equal(await syncOf(() => store.storeRetained({ ...msg('r0', 0), retain: true })), false);
    assert.equal(await syncOf(() => store.setConnected('c', true)), false);
    assert.equal(await syncOf(() => store.removeQueued('c', ['0'.padStart(16, '0')])), false);
    assert.equal(await syncOf(() => store.removeOutgoing('c', 1)), false);
    assert.equal(await syncOf(() => store.putWill('c', msg('w'))), false);
    await store.close();
  });

  test('multi-key updates are one batch: new session with its subscriptions, enqueue with its drop', async () => {
    const store = await LevelStore.open({ path: await dirs.path('db'), maxQueuedMessages: 1 });
    await syncOf(() => store.addSubscriptions('c', [{ topic: 'a', qos: 1 }, { topic: 'b', qos: 1 }]));
    assert.deepEqual(recorded[0]!.keys, ['!sessions!c', '!subscriptions!c\u0000a', '!subscriptions!c\u0000b']);
    const [first, second] = [msg('q'), msg('q')];
    await store.enqueue('c', first);
    await syncOf(() => store.enqueue('c', second));
    assert.deepEqual(recorded[0]!.keys, [
      `!queue!c\u0000${'1'.padStart(16, '0')}`,
      `!queued!c\u0000${second.id}`,
      `!queue!c\u0000${'0'.padStart(16, '0')}`,
      `!queued!c\u0000${first.id}`,
    ]);
    await store.close();
  });

  test('SIGKILL during a stream of enqueues: every acknowledged message is kept, in order, once', async () => {
    const path = await dirs.path('db');
    const child = startChild('enqueue', path);
    await child.until((lines) => lines.length >= 200);
    await child.kill();
    const acknowledged = child.lines.length;

    const store = await LevelStore.open({ path });
    const queued = (await takeQueue(store, 'c')).map((m) => Number(m.payload.toString()));
    await store.close();
    assert.ok(queued.length >= acknowledged, `${queued.length} kept, ${acknowledged} acknowledged`);
    assert.deepEqual(queued, Array.from({ length: queued.length }, (_, i) => i));
  });
});
