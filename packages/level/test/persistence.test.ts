import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ClassicLevel } from 'classic-level';
import type { Message, OutgoingPacket, QoS } from '@skynet-mqtt/core';
import { takeQueue } from '@skynet-mqtt/contract-tests';
import { TempDirs } from '@skynet-mqtt/test-support';
import { LevelStore, type LevelStoreOptions } from '../src/index.js';

// The contract's durability case covers the happy path of each kind of state; these cover what a
// restart must also keep: deletions, positions, sequence continuity, bounds, TTL clocks and keys.

const dirs = new TempDirs('skynet-level-');
after(() => dirs.removeAll());

let made = 0;
const msg = (topic: string, payload: string, qos: QoS = 1, retain = false): Message => ({ id: `m-${made++}`, topic, payload: Buffer.from(payload), qos, retain });
const out = (messageId: number, payload: string, released?: boolean): OutgoingPacket => ({
  ...msg(`out/${messageId}`, payload, 2),
  id: `out-${messageId}-${payload}`,
  messageId,
  ...(released === undefined ? {} : { released }),
});
const payloads = (messages: readonly Message[]): string[] => messages.map((m) => m.payload.toString());

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/**
 * Bytes held in Buffers and ArrayBuffers once garbage is collected: the least of a few
 * collections a tick apart, since V8 frees the memory of dead ArrayBuffers concurrently, after
 * the collection that found them.
 */
async function heldBuffers(): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    await sleep(20);
    least = Math.min(least, process.memoryUsage().arrayBuffers);
  }
  return least;
}

/** Opens a store on a fresh directory and returns it with a function that reopens the same path. */
async function openFresh(options: Omit<LevelStoreOptions, 'path'> = {}) {
  const path = await dirs.path('db');
  return { store: await LevelStore.open({ path, ...options }), reopen: (more: Omit<LevelStoreOptions, 'path'> = options) => LevelStore.open({ path, ...more }), path };
}

async function countKeys(path: string, space: string): Promise<number> {
  const db = new ClassicLevel(path);
  let n = 0;
  for await (const _ of db.keys({ gte: `!${space}!`, lt: `!${space}"` })) n++;
  await db.close();
  return n;
}

describe('LevelStore across close and reopen', () => {
  test('deletions persist: retained, subscriptions, queue, outgoing, incoming, will', async () => {
    let { store, reopen } = await openFresh();
    await store.storeRetained(msg('r/gone', 'x', 1, true));
    await store.storeRetained(msg('r/kept', 'y', 1, true));
    await store.addSubscriptions('c', [{ topic: 'a', qos: 1 }, { topic: 'b', qos: 2 }]);
    await store.enqueue('c', msg('q', 'queued'));
    await store.putOutgoing('c', out(1, 'one'));
    await store.putOutgoing('c', out(2, 'two'));
    await store.putIncoming('c', 5);
    await store.putIncoming('c', 6);
    await store.putWill('c', msg('will', 'w'));
    await store.close();

    store = await reopen();
    await store.storeRetained(msg('r/gone', '', 0, true));
    await store.removeSubscriptions('c', ['a']);
    assert.deepEqual(payloads(await takeQueue(store, 'c')), ['queued']);
    await store.removeOutgoing('c', 1);
    await store.removeIncoming('c', 5);
    await store.deleteWill('c');
    await store.close();

    store = await reopen();
    assert.deepEqual((await store.matchRetained(['r/#'])).map((m) => m.topic), ['r/kept']);
    assert.deepEqual(await store.getSession('c'), [{ topic: 'b', qos: 2 }]);
    assert.deepEqual(await store.subscriptionsByTopic('a'), []);
    assert.deepEqual(await takeQueue(store, 'c'), []);
    assert.deepEqual((await store.getOutgoing('c')).map((p) => p.messageId), [2]);
    assert.equal(await store.putIncoming('c', 5), true);
    assert.equal(await store.putIncoming('c', 6), false);
    assert.equal(await store.getWill('c'), null);
    await store.close();
  });

  test('deleteSession persists and leaves no keys behind', async () => {
    let { store, reopen, path } = await openFresh();
    await store.addSubscriptions('c', [{ topic: 'a', qos: 1 }]);
    await store.enqueue('c', msg('a', '1'));
    await store.putOutgoing('c', out(1, 'one'));
    await store.putIncoming('c', 1);
    await store.putWill('c', msg('will', 'w'));
    await store.deleteSession('c');
    await store.close();
    for (const space of ['sessions', 'subscriptions', 'queue', 'queued', 'outgoing', 'incoming', 'wills']) {
      assert.equal(await countKeys(path, space), 0, `${space} is empty`);
    }
    store = await reopen();
    assert.equal(await store.getSession('c'), null);
    await store.close();
  });

  test('outgoing packets keep their first-sent position and released flag', async () => {
    let { store, reopen } = await openFresh();
    await store.putOutgoing('c', out(300, 'a'));
    await store.putOutgoing('c', out(2, 'b'));
    await store.putOutgoing('c', out(65535, 'c'));
    await store.close();

    store = await reopen();
    await store.putOutgoing('c', out(2, 'b', true)); // PUBREC after the restart: replaced in place
    await store.putOutgoing('c', out(1, 'd', false)); // new after the restart: last
    await store.close();

    store = await reopen();
    assert.deepEqual(await store.getOutgoing('c'), [out(300, 'a'), out(2, 'b', true), out(65535, 'c'), out(1, 'd', false)]);
    await store.close();
  });

  test('the offline queue continues its order after a restart, and the bound applies to what was stored', async () => {
    let { store, reopen } = await openFresh({ maxQueuedMessages: 10 });
    await store.createSession('c');
    for (let i = 0; i < 5; i++) await store.enqueue('c', msg('q', `m${i}`));
    await store.close();

    store = await reopen();
    for (let i = 5; i < 8; i++) await store.enqueue('c', msg('q', `m${i}`));
    await store.close();

    // A smaller bound after a restart trims the oldest on the next enqueue.
    store = await reopen({ maxQueuedMessages: 3 });
    await store.enqueue('c', msg('q', 'm8'));
    assert.deepEqual(payloads(await takeQueue(store, 'c')), ['m6', 'm7', 'm8']);
    await store.enqueue('c', msg('q', 'm9'));
    await store.close();

    store = await reopen();
    assert.deepEqual(payloads(await takeQueue(store, 'c')), ['m9']);
    await store.close();
  });

  test('a session still connected when the store closed counts as disconnected from the reopen on', async () => {
    // The TTL leaves a loaded machine time to reopen and read before the session expires.
    let { store, reopen } = await openFresh({ ttl: { subscriptions: 1500 } });
    await store.addSubscriptions('c', [{ topic: 't', qos: 1 }]);
    await store.setConnected('c', true);
    await sleep(1600); // longer than the TTL: only the reopen may start the clock
    await store.close();

    store = await reopen();
    assert.deepEqual(await store.subscriptionsByTopic('t'), [{ clientId: 'c', topic: 't', qos: 1, connected: false }]);
    assert.deepEqual(await store.getSession('c'), [{ topic: 't', qos: 1 }]);
    await sleep(1600);
    assert.equal(await store.getSession('c'), null);
    await store.close();
  });

  test('sessions that expired while closed are removed from disk at open', async () => {
    let { store, reopen, path } = await openFresh({ ttl: { subscriptions: 100 } });
    await store.addSubscriptions('old', [{ topic: 't', qos: 1 }]);
    await store.enqueue('old', msg('t', 'x'));
    await store.putOutgoing('old', out(1, 'x'));
    await store.putWill('old', msg('will', 'w'));
    await store.close();
    await sleep(200);

    store = await reopen();
    assert.deepEqual(await store.subscriptionsByTopic('t'), []);
    await store.close();
    for (const space of ['sessions', 'subscriptions', 'queue', 'queued', 'outgoing']) {
      assert.equal(await countKeys(path, space), 0, `${space} is empty`);
    }
    // As in MemoryStore, an expired session keeps its will; only deleteSession removes it.
    assert.equal(await countKeys(path, 'wills'), 1);
  });

  test('client ids containing \\0 and \\1 keep their own keys', async () => {
    const ids = ['a', 'a\u0000b', 'a\u0001', 'a\u0001\u0001', '\u0000'];
    let { store, reopen } = await openFresh();
    for (const id of ids) {
      await store.addSubscriptions(id, [{ topic: `t/${ids.indexOf(id)}`, qos: 1 }, { topic: 'all', qos: 0 }]);
      await store.enqueue(id, msg('q', `for ${JSON.stringify(id)}`));
      await store.putIncoming(id, 1);
    }
    await store.deleteSession('a');
    await store.close();

    store = await reopen();
    const holders = (await store.subscriptionsByTopic('all')).map((s) => s.clientId).sort();
    assert.deepEqual(holders, ids.slice(1).sort());
    for (const id of ids.slice(1)) {
      assert.deepEqual(payloads(await takeQueue(store, id)), [`for ${JSON.stringify(id)}`]);
      assert.equal(await store.putIncoming(id, 1), false);
    }
    assert.equal(await store.getSession('a'), null);
    await store.close();
  });

  test('a store of layout version 1 (messages without ids) is read and stamped version 2; another version is refused', async () => {
    const path = await dirs.path('db');
    const db = new ClassicLevel<string, Buffer>(path, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    await db.put('!meta!format', Buffer.from('1'));
    // Version 1 message: flags (qos 1, retain) | topic length (uint32 BE) | topic | payload
    await db.put('!retained!old/r', Buffer.from([0b101, 0, 0, 0, 5, ...Buffer.from('old/r'), ...Buffer.from('kept')]));
    const inAnHour = Buffer.alloc(8);
    inAnHour.writeDoubleBE(Date.now() + 3_600_000);
    await db.put('!sessions!c', Buffer.concat([Buffer.from([0]), inAnHour])); // disconnected
    await db.put(`!queue!c\u0000${'0'.padStart(16, '0')}`, Buffer.concat([inAnHour, Buffer.from([0b001, 0, 0, 0, 1, ...Buffer.from('q'), ...Buffer.from('old')])]));
    await db.close();

    const store = await LevelStore.open({ path });
    const [retained] = await store.matchRetained(['old/#']);
    assert.deepEqual(retained, { id: '', topic: 'old/r', payload: Buffer.from('kept'), qos: 1, retain: true });
    const newer = msg('q', 'new');
    await store.enqueue('c', newer);
    await store.enqueue('c', newer);
    assert.deepEqual((await takeQueue(store, 'c')).map((m) => [m.id, m.payload.toString()]), [['', 'old'], [newer.id, 'new']]);
    await store.close();

    const check = new ClassicLevel<string, Buffer>(path, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
    assert.equal((await check.get('!meta!format'))?.toString(), '2');
    await check.put('!meta!format', Buffer.from('3'));
    await check.close();
    await assert.rejects(LevelStore.open({ path }), /layout version 3; this version of @skynet-mqtt\/level reads versions 1 and 2/);
  });

  test('retained payloads stay on disk: after a reopen the index holds topics, and a replay reads the payloads', async () => {
    const count = 400;
    const payloadOf = (i: number) => Buffer.alloc(64 * 1024, i % 251);
    let { store, reopen } = await openFresh();
    for (let i = 0; i < count; i++) await store.storeRetained({ id: `r-${i}`, topic: `r/${i}`, payload: payloadOf(i), qos: 0, retain: true });
    await store.close();

    const before = await heldBuffers();
    store = await reopen();
    const held = (await heldBuffers()) - before;
    assert.ok(held < 4 * 1024 * 1024, `reopening held ${(held / 1024 / 1024).toFixed(1)} MB of buffers for ${(count * 64) / 1024} MB of retained payloads`);

    await store.storeRetained(msg('r/7', '', 0, true));
    const seen = new Map<string, Buffer>();
    for await (const page of store.retainedPages(['r/#'], 128)) for (const message of page) seen.set(message.topic, message.payload);
    assert.equal(seen.size, count - 1, 'every retained message but the deleted one');
    assert.ok(!seen.has('r/7'));
    for (const [topic, payload] of seen) assert.ok(payload.equals(payloadOf(Number(topic.slice(2)))), `${topic} byte-exact`);
    assert.deepEqual((await store.matchRetained(['r/42'])).map((m) => m.payload.equals(payloadOf(42))), [true]);
    await store.close();
  });

  test('calls after close are refused', async () => {
    const { store } = await openFresh();
    await store.close();
    await store.close(); // twice is harmless
    await assert.rejects(store.getSession('c'), /the level store is closed/);
  });
});
