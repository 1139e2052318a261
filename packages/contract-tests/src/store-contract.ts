import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientSubscription, Message, MessageContent, OutgoingPacket, Store, Subscription } from '@skynet-mqtt/core';
import { allBytes, bigPayload, message, summary, topics } from './fixtures.js';
import { mqtt5StoreContract } from './store-contract-mqtt5.js';
import { sharedSubscriptionStoreContract } from './store-shared-contract.js';
import { recordContract } from './record-contract.js';
import { sweepContract } from './store-sweep-contract.js';
import { orphanedWillContract } from './store-will-contract.js';
import { sleep } from './wait.js';

export interface StoreContractOptions {
  /**
   * A new Store instance over the same data as the store most recently returned by `makeStore`
   * (closed by then). Given only by adapters that persist; the durability test exists only then.
   */
  reopen?: () => Promise<Store>;
  /** An empty Store with these TTLs in milliseconds. */
  ttlStore?: (ttl: { subscriptions: number; packets: number }) => Promise<Store>;
  /** An empty Store keeping at most `max` offline messages per client. */
  maxQueuedStore?: (max: number) => Promise<Store>;
}

function sortSubs(subscriptions: readonly Subscription[] | null): Subscription[] | null {
  if (!subscriptions) return null;
  return [...subscriptions].map(({ topic, qos }) => ({ topic, qos })).sort((a, b) => a.topic.localeCompare(b.topic));
}

function sortClientSubs(found: readonly ClientSubscription[]): string[] {
  return found.map((s) => `${s.clientId} ${s.topic} ${s.qos} ${s.connected}`).sort();
}

/** An outgoing packet; the same arguments give the same packet, its message id included. */
function packet(messageId: number, payload: string | Buffer, qos: 1 | 2 = 1): OutgoingPacket {
  return { ...message(`out/${messageId}`, payload, qos), id: `out-${messageId}-${String(payload)}`, messageId };
}

/** Reads and removes the whole queue the way a broker does: peek, then remove what it read. */
export async function takeQueue(store: Store, clientId: string): Promise<Message[]> {
  const queued = await store.peekQueue(clientId, 1_000_000);
  await store.removeQueued(clientId, queued.map((q) => q.id));
  return queued.map((q) => q.message);
}

function assertSameMessage(actual: MessageContent | undefined, expected: MessageContent): void {
  assert.ok(actual, `expected a message on ${expected.topic}`);
  if ('id' in expected) assert.equal((actual as Message).id, expected.id, `the id of the message on ${expected.topic} is kept`);
  assert.equal(actual.topic, expected.topic);
  assert.ok(Buffer.isBuffer(actual.payload), 'payload must be a Buffer');
  assert.ok(actual.payload.equals(expected.payload), `payload of ${expected.topic} differs (${actual.payload.length} vs ${expected.payload.length} bytes)`);
  assert.equal(actual.qos, expected.qos);
  assert.equal(actual.retain, expected.retain);
}

/**
 * Registers the behaviour every Store adapter must show. `makeStore` must return an EMPTY store
 * on every call (for a server-backed adapter: a fresh key prefix or database), because lookups
 * such as '#' see everything the store holds.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>, options: StoreContractOptions = {}): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    const extra: Store[] = [];
    /** Stores made by the option factories, closed after the test like the main one. */
    const track = async (made: Promise<Store>): Promise<Store> => {
      const s = await made;
      extra.push(s);
      return s;
    };

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
      for (const s of extra.splice(0)) await s.close();
    });

    mqtt5StoreContract(() => store, options.reopen, (next) => (store = next));
    sharedSubscriptionStoreContract(() => store, options.reopen, (next) => (store = next));

    describe('retained messages', () => {
      test('are stored, replaced and deleted by an empty payload', async () => {
        await store.storeRetained(message('r/a', 'one', 1, true));
        assert.deepEqual(summary(await store.matchRetained(['r/a'])), summary([message('r/a', 'one', 1, true)]));
        await store.storeRetained(message('r/a', 'two', 2, true));
        assert.deepEqual(summary(await store.matchRetained(['r/a'])), summary([message('r/a', 'two', 2, true)]));
        await store.storeRetained(message('r/a', Buffer.alloc(0), 0, true));
        assert.deepEqual(await store.matchRetained(['r/a']), []);
        assert.deepEqual(await store.matchRetained(['#']), []);
        // Deleting a topic that has no retained message is harmless.
        await store.storeRetained(message('r/none', Buffer.alloc(0), 0, true));
      });

      test('are found by filters with + and #', async () => {
        for (const t of ['a', 'a/b', 'a/b/c', 'a/x/c', 'b/c', 'a/b/c/d', '/lead', 'trail/']) {
          await store.storeRetained(message(t, `p:${t}`, 0, true));
        }
        assert.deepEqual(topics(await store.matchRetained(['a/+/c'])), ['a/b/c', 'a/x/c']);
        assert.deepEqual(topics(await store.matchRetained(['a/#'])), ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/x/c']);
        assert.deepEqual(topics(await store.matchRetained(['+'])), ['a']);
        assert.deepEqual(topics(await store.matchRetained(['+/+'])), ['/lead', 'a/b', 'b/c', 'trail/']);
        assert.deepEqual(topics(await store.matchRetained(['+/c'])), ['b/c']);
        assert.deepEqual(topics(await store.matchRetained(['#'])).length, 8);
        assert.deepEqual(topics(await store.matchRetained(['a/b/#'])), ['a/b', 'a/b/c', 'a/b/c/d']);
        assert.deepEqual(topics(await store.matchRetained(['+/lead', 'trail/+'])), ['/lead', 'trail/']);
        assert.deepEqual(await store.matchRetained(['nothing/#', 'a/b/c/d/e']), []);
        // Overlapping filters return each message once.
        assert.deepEqual(topics(await store.matchRetained(['a/#', 'a/b', '+/b'])), ['a', 'a/b', 'a/b/c', 'a/b/c/d', 'a/x/c']);
      });

      test('$-topics are matched only by filters that start with $ [MQTT-4.7.2-1]', async () => {
        await store.storeRetained(message('$SYS/x', 'sys', 0, true));
        await store.storeRetained(message('a/x', 'plain', 0, true));
        assert.deepEqual(topics(await store.matchRetained(['#'])), ['a/x']);
        assert.deepEqual(topics(await store.matchRetained(['+/x'])), ['a/x']);
        assert.deepEqual(topics(await store.matchRetained(['+/+'])), ['a/x']);
        assert.deepEqual(topics(await store.matchRetained(['$SYS/#'])), ['$SYS/x']);
        assert.deepEqual(topics(await store.matchRetained(['$SYS/+'])), ['$SYS/x']);
        assert.deepEqual(topics(await store.matchRetained(['$SYS/x'])), ['$SYS/x']);
      });

      test('2,000 retained topics are looked up by filter', async () => {
        const writes: Promise<boolean>[] = [];
        for (let i = 0; i < 2_000; i++) writes.push(store.storeRetained(message(`bulk/${i % 20}/${i}`, `v${i}`, 1, true)));
        for (let i = 0; i < 200; i++) writes.push(store.storeRetained(message(`other/${i}`, `o${i}`, 0, true)));
        await Promise.all(writes);
        const seven = await store.matchRetained(['bulk/7/+']);
        assert.equal(seven.length, 100);
        assert.ok(seven.every((m) => m.topic.startsWith('bulk/7/') && m.payload.toString() === `v${m.topic.split('/')[2]}`));
        assert.equal((await store.matchRetained(['bulk/#'])).length, 2_000);
        // 'other/3' too: '#' also matches its parent level.
        assert.equal((await store.matchRetained(['+/3/#'])).length, 101);
        assert.equal((await store.matchRetained(['#'])).length, 2_200);
        assert.deepEqual(topics(await store.matchRetained(['bulk/+/1234', 'other/199'])), ['bulk/14/1234', 'other/199']);
      });

      test('are read a page at a time: every match once, pages within their size, a walk ended early', async () => {
        const writes: Promise<boolean>[] = [];
        for (let i = 0; i < 300; i++) writes.push(store.storeRetained(message(`page/${i % 3}/${i}`, `v${i}`, 1, true)));
        writes.push(store.storeRetained(message('page', 'parent', 0, true)), store.storeRetained(message('aside/1', 'aside', 0, true)));
        await Promise.all(writes);
        const read = async (filters: string[], pageSize: number): Promise<string[]> => {
          const seen: string[] = [];
          for await (const page of store.retainedPages(filters, pageSize)) {
            assert.ok(page.length > 0 && page.length <= pageSize, `a page of ${page.length} for a page size of ${pageSize}`);
            for (const m of page) seen.push(m.topic);
          }
          return seen.sort();
        };
        const all = topics(await store.matchRetained(['page/#']));
        assert.equal(all.length, 301);
        assert.deepEqual(await read(['page/#'], 7), all);
        // Overlapping filters, an exact one among them: each message once.
        assert.deepEqual(await read(['page/#', 'page/1/1', '+/2/+', 'page'], 16), all);
        assert.deepEqual(await read(['page/2/+', 'aside/1'], 1), topics(await store.matchRetained(['page/2/+', 'aside/1'])));
        assert.deepEqual(await read(['nothing/#'], 5), []);
        const walk = store.retainedPages(['page/#'], 10);
        assert.equal(((await walk.next()).value as Message[]).length, 10);
        await walk.return(undefined);
        assert.equal((await walk.next()).done, true);
      });

      test('are counted by topic, replacements and deletions included', async () => {
        assert.equal(await store.countRetained(), 0);
        for (const t of ['count/a', 'count/b', 'count/c']) assert.equal(await store.storeRetained(message(t, 'v', 0, true)), true);
        await store.storeRetained(message('count/a', 'again', 1, true));
        assert.equal(await store.countRetained(), 3);
        await store.storeRetained(message('count/b', Buffer.alloc(0), 0, true));
        await store.storeRetained(message('count/none', Buffer.alloc(0), 0, true));
        assert.equal(await store.countRetained(), 2);
      });

      test('maxCount keeps new topics out once reached, and lets existing ones change', async () => {
        assert.equal(await store.storeRetained(message('cap/1', 'a', 0, true), 2), true);
        assert.equal(await store.storeRetained(message('cap/2', 'b', 0, true), 2), true);
        assert.equal(await store.storeRetained(message('cap/3', 'c', 0, true), 2), false, 'a third topic is refused');
        assert.deepEqual(topics(await store.matchRetained(['cap/#'])), ['cap/1', 'cap/2']);
        assert.equal(await store.storeRetained(message('cap/1', 'replaced', 0, true), 2), true, 'a topic that has one may replace it');
        assert.equal((await store.matchRetained(['cap/1']))[0]?.payload.toString(), 'replaced');
        assert.equal(await store.storeRetained(message('cap/2', Buffer.alloc(0), 0, true), 2), true, 'deleting is always allowed');
        assert.equal(await store.storeRetained(message('cap/3', 'c', 0, true), 2), true, 'room again after a delete');
        // Concurrent new topics: exactly maxCount are kept.
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.storeRetained(message(`race/${i}`, 'r', 0, true), 5)));
        assert.equal(results.filter(Boolean).length, 3);
        assert.equal(await store.countRetained(), 5);
      });

      test('message ids of any shape are kept', async () => {
        const ids = ['plain', 'broker-1a2b-0', 'broker-1a2b-00', 'broker-1a2b-zzzzzz', 'broker-1a2b-zzzzzzz', 'ends-with-', '-', 'a-B'];
        for (const [i, id] of ids.entries()) await store.storeRetained({ ...message(`ids/${i}`, 'x', 0, true), id });
        const found = await store.matchRetained(['ids/+']);
        assert.deepEqual(found.map((m) => [m.topic, m.id]).sort(), ids.map((id, i) => [`ids/${i}`, id]).sort());
      });

      test('payloads are byte-exact, 256 KB included', async () => {
        const big = message('bin/big', bigPayload(), 2, true);
        const bytes = message('bin/bytes', allBytes(), 1, true);
        await store.storeRetained(big);
        await store.storeRetained(bytes);
        const found = await store.matchRetained(['bin/+']);
        assertSameMessage(found.find((m) => m.topic === 'bin/big'), big);
        assertSameMessage(found.find((m) => m.topic === 'bin/bytes'), bytes);
      });
    });

    describe('sessions and subscriptions', () => {
      test('subscriptions are added, replaced, removed and listed', async () => {
        assert.equal(await store.getSession('s1'), null);
        await store.addSubscriptions('s1', [{ topic: 'a/+', qos: 1 }, { topic: 'b', qos: 0 }]);
        assert.deepEqual(sortSubs(await store.getSession('s1')), [{ topic: 'a/+', qos: 1 }, { topic: 'b', qos: 0 }]);
        await store.addSubscriptions('s1', [{ topic: 'a/+', qos: 2 }]);
        assert.deepEqual(sortSubs(await store.getSession('s1')), [{ topic: 'a/+', qos: 2 }, { topic: 'b', qos: 0 }]);
        await store.removeSubscriptions('s1', ['a/+', 'not/subscribed']);
        assert.deepEqual(sortSubs(await store.getSession('s1')), [{ topic: 'b', qos: 0 }]);
        await store.removeSubscriptions('s1', ['b']);
        // The session outlives its last subscription.
        assert.deepEqual(await store.getSession('s1'), []);
        assert.deepEqual(await store.subscriptionsByTopic('b'), []);
        await store.removeSubscriptions('nobody', ['x']);
        assert.equal(await store.getSession('nobody'), null);
      });

      test('createSession makes an empty session and keeps an existing one', async () => {
        await store.createSession('c1');
        assert.deepEqual(await store.getSession('c1'), []);
        await store.addSubscriptions('c1', [{ topic: 'x', qos: 1 }]);
        await store.createSession('c1');
        assert.deepEqual(sortSubs(await store.getSession('c1')), [{ topic: 'x', qos: 1 }]);
      });

      test('subscriptionsByTopic finds wildcard subscriptions and the connected flag', async () => {
        await store.addSubscriptions('c1', [{ topic: 'a/+', qos: 1 }, { topic: 'a/#', qos: 0 }]);
        await store.addSubscriptions('c2', [{ topic: 'a/b', qos: 2 }]);
        await store.addSubscriptions('c3', [{ topic: '#', qos: 0 }]);
        await store.addSubscriptions('c4', [{ topic: '+/b', qos: 1 }, { topic: 'a/b/c', qos: 1 }]);
        await store.addSubscriptions('c5', [{ topic: '$SYS/#', qos: 0 }, { topic: '+/+/+/+', qos: 0 }]);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('a/b')), [
          'c1 a/# 0 false', 'c1 a/+ 1 false', 'c2 a/b 2 false', 'c3 # 0 false', 'c4 +/b 1 false',
        ]);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('a')), ['c1 a/# 0 false', 'c3 # 0 false']);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('x/y/z')), ['c3 # 0 false']);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('w/x/y/z')), ['c3 # 0 false', 'c5 +/+/+/+ 0 false']);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('$SYS/b')), ['c5 $SYS/# 0 false']);

        await store.setConnected('c2', true);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('a/b')).filter((s) => s.startsWith('c2')), ['c2 a/b 2 true']);
        await store.setConnected('c2', false);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('a/b')).filter((s) => s.startsWith('c2')), ['c2 a/b 2 false']);

        await store.removeSubscriptions('c1', ['a/+']);
        await store.addSubscriptions('c3', [{ topic: '#', qos: 2 }]);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('a/b')), [
          'c1 a/# 0 false', 'c2 a/b 2 false', 'c3 # 2 false', 'c4 +/b 1 false',
        ]);
      });

      test('deleteSession removes subscriptions, queue, in-flight packets, incoming ids and will', async () => {
        await store.addSubscriptions('gone', [{ topic: 'd/+', qos: 1 }]);
        await store.enqueue('gone', message('d/1', 'queued', 1));
        await store.putOutgoing('gone', packet(1, 'inflight'));
        assert.equal(await store.putIncoming('gone', 9), true);
        await store.putWill('gone', { topic: 'will/gone', payload: Buffer.from('bye'), qos: 1, retain: false });
        await store.addSubscriptions('kept', [{ topic: 'd/+', qos: 0 }]);

        await store.deleteSession('gone');
        assert.equal(await store.getSession('gone'), null);
        assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('d/1')), ['kept d/+ 0 false']);
        assert.equal(await store.getWill('gone'), null);
        await store.createSession('gone');
        assert.deepEqual(await store.getSession('gone'), []);
        assert.deepEqual(await takeQueue(store, 'gone'), []);
        assert.deepEqual(await store.getOutgoing('gone'), []);
        assert.equal(await store.putIncoming('gone', 9), true, 'the incoming id must be forgotten');
        await store.deleteSession('never-existed');
      });

      if (options.reopen) {
        const reopen = options.reopen;
        test('durable sessions survive close and reopen', async () => {
          const { id: _, ...will } = message('will/d', allBytes(), 2, true);
          await store.addSubscriptions('durable', [{ topic: 'p/+', qos: 2 }, { topic: 'q', qos: 1 }]);
          await store.setConnected('durable', false);
          const first = message('p/1', 'first', 1);
          const second = message('p/2', bigPayload(1024), 2);
          const inflight = packet(5, 'inflight', 2);
          await store.enqueue('durable', first);
          await store.enqueue('durable', second);
          await store.putOutgoing('durable', inflight);
          assert.equal(await store.putIncoming('durable', 77), true);
          await store.putWill('durable', will);
          await store.storeRetained(message('p/r', 'kept', 1, true));
          await store.close();

          store = await reopen();
          // Enqueueing is idempotent across a restart too.
          await store.enqueue('durable', second);
          assert.deepEqual(sortSubs(await store.getSession('durable')), [{ topic: 'p/+', qos: 2 }, { topic: 'q', qos: 1 }]);
          assert.deepEqual(sortClientSubs(await store.subscriptionsByTopic('p/9')), ['durable p/+ 2 false']);
          const queued = await takeQueue(store, 'durable');
          assert.equal(queued.length, 2);
          assertSameMessage(queued[0], first);
          assertSameMessage(queued[1], second);
          assert.deepEqual(await store.getOutgoing('durable'), [inflight]);
          assert.equal(await store.putIncoming('durable', 77), false);
          assertSameMessage((await store.getWill('durable')) ?? undefined, will);
          assert.deepEqual(summary(await store.matchRetained(['p/#'])), summary([message('p/r', 'kept', 1, true)]));
        });
      }
    });

    describe('offline queue', () => {
      test('peekQueue reads without removing; removeQueued removes by id', async () => {
        await store.createSession('pk');
        for (let i = 0; i < 5; i++) await store.enqueue('pk', message('pk', `m${i}`, 1));
        const firstTwo = await store.peekQueue('pk', 2);
        assert.deepEqual(firstTwo.map((q) => q.message.payload.toString()), ['m0', 'm1']);
        assert.deepEqual((await store.peekQueue('pk', 2)).map((q) => q.id), firstTwo.map((q) => q.id), 'a peek removes nothing');
        assert.equal(new Set((await store.peekQueue('pk', 10)).map((q) => q.id)).size, 5, 'ids are distinct');
        await store.removeQueued('pk', [firstTwo[1]!.id, 'no-such-id']);
        assert.deepEqual((await store.peekQueue('pk', 10)).map((q) => q.message.payload.toString()), ['m0', 'm2', 'm3', 'm4']);
        await store.enqueue('pk', message('pk', 'm5', 1));
        await store.removeQueued('pk', [firstTwo[0]!.id]);
        assert.deepEqual((await store.peekQueue('pk', 10)).map((q) => q.message.payload.toString()), ['m2', 'm3', 'm4', 'm5']);
        assert.deepEqual(await store.peekQueue('unknown', 10), []);
      });

      test('keeps order and taking it empties it', async () => {
        await store.createSession('q1');
        for (let i = 0; i < 5; i++) await store.enqueue('q1', message(`q/${i}`, `m${i}`, 1));
        const queued = await takeQueue(store, 'q1');
        assert.deepEqual(queued.map((m) => m.payload.toString()), ['m0', 'm1', 'm2', 'm3', 'm4']);
        assert.deepEqual(queued.map((m) => m.topic), ['q/0', 'q/1', 'q/2', 'q/3', 'q/4']);
        assert.deepEqual(await takeQueue(store, 'q1'), []);
        assert.deepEqual(await takeQueue(store, 'unknown'), []);
      });

      test('enqueue is idempotent on the message id: held in the queue, or lately removed from it', async () => {
        await store.createSession('idem');
        const once = message('idem/a', 'once', 1);
        await store.enqueue('idem', once);
        await store.enqueue('idem', once);
        await store.enqueue('idem', { ...once, qos: 2 }); // the same message, queued at another QoS by another path
        const other = message('idem/a', 'once', 1); // the same content is another message
        await store.enqueue('idem', other);
        const queued = await store.peekQueue('idem', 10);
        assert.deepEqual(queued.map((q) => [q.message.id, q.message.qos]), [[once.id, 1], [other.id, 1]]);
        assertSameMessage(queued[0]!.message, once);

        // Taken in flight, then queued late by another path (a connection that was closing): refused.
        await store.removeQueued('idem', [queued[0]!.id]);
        assert.equal((await store.enqueue('idem', once)).connected, false);
        assert.deepEqual((await takeQueue(store, 'idem')).map((m) => m.id), [other.id]);
      });

      test('enqueue says whether it queued for a session marked connected', async () => {
        assert.equal((await store.enqueue('nobody', message('c/x', 'no session', 1))).connected, false, 'nothing queued without a session');
        await store.createSession('conn');
        const first = message('c/x', 'offline', 1);
        assert.equal((await store.enqueue('conn', first)).connected, false, 'offline: nobody to tell');
        await store.setConnected('conn', true);
        assert.equal((await store.enqueue('conn', message('c/x', 'connected', 1))).connected, true, 'connected: its connection must read its queue');
        assert.equal((await store.enqueue('conn', first)).connected, false, 'a duplicate queues nothing');
        await store.setConnected('conn', false);
        assert.equal((await store.enqueue('conn', message('c/x', 'offline again', 1))).connected, false);
        assert.equal((await takeQueue(store, 'conn')).length, 3);
      });

      test('parallel enqueues of one message keep one; messages without an id are all kept', async () => {
        await store.createSession('idem-par');
        const one = message('idem/p', 'one', 1);
        await Promise.all(Array.from({ length: 20 }, () => store.enqueue('idem-par', one)));
        const anonymous = { ...message('idem/p', 'no id', 1), id: '' };
        await store.enqueue('idem-par', anonymous);
        await store.enqueue('idem-par', anonymous);
        assert.deepEqual((await takeQueue(store, 'idem-par')).map((m) => [m.id, m.payload.toString()]), [
          [one.id, 'one'],
          ['', 'no id'],
          ['', 'no id'],
        ]);
      });

      test('payloads are byte-exact: every byte value, empty and 256 KB', async () => {
        const sent = [message('b/all', allBytes(), 1), message('b/empty', Buffer.alloc(0), 2), message('b/big', bigPayload(), 1, true)];
        await store.createSession('bin');
        for (const m of sent) await store.enqueue('bin', m);
        const queued = await takeQueue(store, 'bin');
        assert.equal(queued.length, 3);
        sent.forEach((m, i) => assertSameMessage(queued[i], m));
      });

      if (options.maxQueuedStore) {
        const maxQueuedStore = options.maxQueuedStore;
        test('is bounded: the oldest messages are dropped, and enqueue says so', async () => {
          const bounded = await track(maxQueuedStore(3));
          await bounded.createSession('q2');
          const sent = Array.from({ length: 7 }, (_, i) => message('q', `m${i}`, 1));
          const dropped: number[] = [];
          for (const m of sent) dropped.push((await bounded.enqueue('q2', m)).dropped);
          assert.deepEqual(dropped, [0, 0, 0, 1, 1, 1, 1], 'enqueue reports each drop, for the broker to count');
          // A dropped message is no longer held: queueing it again is not refused.
          await bounded.enqueue('q2', sent[0]!);
          await bounded.enqueue('q2', sent[6]!);
          assert.deepEqual((await takeQueue(bounded, 'q2')).map((m) => m.payload.toString()), ['m5', 'm6', 'm0']);
        });
      }

      test('200 parallel enqueues are all kept', async () => {
        await store.createSession('par');
        await Promise.all(Array.from({ length: 200 }, (_, i) => store.enqueue('par', message('par', `m${i}`, 1))));
        const queued = await takeQueue(store, 'par');
        assert.equal(queued.length, 200);
        assert.deepEqual(new Set(queued.map((m) => m.payload.toString())), new Set(Array.from({ length: 200 }, (_, i) => `m${i}`)));
      });
    });

    describe('in-flight packets', () => {
      test('outgoing packets are put, replaced in place, removed and listed in first-sent order', async () => {
        await store.putOutgoing('o1', packet(10, 'ten'));
        await store.putOutgoing('o1', packet(3, 'three', 2));
        await store.putOutgoing('o1', packet(7, 'seven'));
        await store.putOutgoing('o1', { ...packet(3, 'three', 2), released: true });
        const list = await store.getOutgoing('o1');
        assert.deepEqual(list.map((p) => p.messageId), [10, 3, 7]);
        assert.equal(list[1]!.released, true);
        assert.ok(!list[0]!.released, 'a packet not released must not say so');
        assertSameMessage(list[1], packet(3, 'three', 2));
        await store.removeOutgoing('o1', 10);
        await store.removeOutgoing('o1', 999);
        assert.deepEqual((await store.getOutgoing('o1')).map((p) => p.messageId), [3, 7]);
        await store.putOutgoing('o1', packet(10, 'again'));
        assert.deepEqual((await store.getOutgoing('o1')).map((p) => p.messageId), [3, 7, 10]);
        assert.deepEqual(await store.getOutgoing('unknown'), []);
      });

      test('outgoing payloads are byte-exact', async () => {
        const sent = { ...message('o/bin', bigPayload(), 2, true), messageId: 65535 };
        await store.putOutgoing('o2', sent);
        const [got] = await store.getOutgoing('o2');
        assertSameMessage(got, sent);
        assert.equal(got!.messageId, 65535);
      });

      test('incoming QoS 2 ids: a re-sent id is reported', async () => {
        assert.equal(await store.putIncoming('i1', 42), true);
        assert.equal(await store.putIncoming('i1', 42), false);
        assert.equal(await store.putIncoming('i1', 43), true);
        assert.equal(await store.putIncoming('i2', 42), true, 'ids are per client');
        await store.removeIncoming('i1', 42);
        assert.equal(await store.putIncoming('i1', 42), true);
        assert.equal(await store.putIncoming('i1', 43), false);
      });
    });

    describe('wills', () => {
      test('are put, read and deleted', async () => {
        assert.equal(await store.getWill('w1'), null);
        const will = message('will/w1', allBytes(), 1, true);
        await store.putWill('w1', will);
        assertSameMessage((await store.getWill('w1')) ?? undefined, will);
        const replaced = message('will/w1', Buffer.alloc(0), 0, false);
        await store.putWill('w1', replaced);
        assertSameMessage((await store.getWill('w1')) ?? undefined, replaced);
        await store.deleteWill('w1');
        assert.equal(await store.getWill('w1'), null);
        await store.deleteWill('w1');
      });
    });

    describe('orphaned wills', () => orphanedWillContract(() => store, track, options.reopen));

    if (options.ttlStore) {
      const ttlStore = options.ttlStore;
      describe('TTLs', () => {
        sweepContract(ttlStore, track);
        test('subscriptions of a disconnected session expire; a connected one stays', async () => {
          // 300 ms leaves room for a slow machine between creating a session and checking it.
          const short = await track(ttlStore({ subscriptions: 300, packets: 60_000 }));
          await short.addSubscriptions('live', [{ topic: 't/+', qos: 1 }]);
          await short.setConnected('live', true);
          await short.addSubscriptions('old', [{ topic: 't/+', qos: 1 }]);
          assert.notEqual(await short.getSession('old'), null, 'the session must exist before its TTL');
          await sleep(450);
          assert.equal(await short.getSession('old'), null);
          assert.deepEqual(sortClientSubs(await short.subscriptionsByTopic('t/1')), ['live t/+ 1 true']);
          assert.deepEqual(sortSubs(await short.getSession('live')), [{ topic: 't/+', qos: 1 }]);
          // Disconnecting starts the clock again.
          await short.setConnected('live', false);
          await sleep(450);
          assert.equal(await short.getSession('live'), null);
          assert.deepEqual(await short.subscriptionsByTopic('t/1'), []);
        });

        test('queued and in-flight packets expire', async () => {
          // 'new' must still be live when read back: a TTL long enough for a loaded machine.
          const short = await track(ttlStore({ subscriptions: 60_000, packets: 600 }));
          await short.createSession('p');
          await short.enqueue('p', message('p', 'old', 1));
          await short.putOutgoing('p', packet(1, 'old'));
          await short.createSession('r');
          const taken = message('r', 'taken', 1);
          await short.enqueue('r', taken);
          await takeQueue(short, 'r');
          await sleep(800);
          await short.enqueue('p', message('p', 'new', 1));
          await short.putOutgoing('p', packet(2, 'new'));
          assert.deepEqual((await takeQueue(short, 'p')).map((m) => m.payload.toString()), ['new']);
          assert.deepEqual((await short.getOutgoing('p')).map((o) => o.messageId), [2]);
          assert.deepEqual(await short.getSession('p'), [], 'the session itself has a longer TTL');
          // A message removed from the queue longer ago than ttl.packets is forgotten: queued again.
          await short.enqueue('r', taken);
          assert.deepEqual((await takeQueue(short, 'r')).map((m) => m.id), [taken.id]);
        });
      });
    }

    recordContract({ get: () => store, set: (reopened) => (store = reopened) }, options.reopen);

    describe('concurrency', () => {
      test('50 parallel addSubscriptions are all kept', async () => {
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.addSubscriptions('many', [{ topic: `m/${i}`, qos: 1 }])));
        assert.equal((await store.getSession('many'))?.length, 50);
        await Promise.all(Array.from({ length: 50 }, (_, i) => store.addSubscriptions(`client${i}`, [{ topic: 'shared/+', qos: 0 }])));
        assert.equal((await store.subscriptionsByTopic('shared/x')).length, 50);
        assert.equal((await store.subscriptionsByTopic('m/49')).length, 1);
      });
    });

    describe('health', () => {
      test('ping, where the Store has one, answers while the Store is open', async () => {
        if (store.ping) await store.ping();
      });

      test('countOfflineSessions, where the Store has one, counts stored sessions not connected', async () => {
        if (!store.countOfflineSessions) return;
        const before = await store.countOfflineSessions();
        await store.createSession('census-offline');
        await store.createSession('census-online');
        await store.setConnected('census-online', true);
        assert.equal(await store.countOfflineSessions(), before + 1);
        await store.deleteSession('census-offline');
        assert.equal(await store.countOfflineSessions(), before);
      });
    });

    test('close resolves', async () => {
      const other = await makeStore();
      await other.storeRetained(message('c/x', 'x', 0, true));
      await other.close();
    });
  });
}
