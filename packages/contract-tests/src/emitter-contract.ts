import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Emitter, Message, MessageHandler } from '@skynet-mqtt/core';
import { allBytes, bigPayload, message, v5Message } from './fixtures.js';
import { sleep, waitFor } from './wait.js';

/** A handler that records what it receives. */
function recorder(): MessageHandler & { received: Message[] } {
  const received: Message[] = [];
  const handler = ((m: Message) => {
    received.push(m);
  }) as MessageHandler & { received: Message[] };
  handler.received = received;
  return handler;
}

const topicsOf = (r: { received: Message[] }): string[] => r.received.map((m) => m.topic);

/**
 * Registers the behaviour every Emitter adapter must show. Each `makeEmitter()` call returns an
 * emitter connected to the SAME backend as the others made in the same test, so that a message
 * published on one reaches handlers on another (broker instances sharing a bus). An in-process
 * adapter may return one shared instance: it is one process by definition.
 *
 * "Nothing arrived" is proven with a sentinel: the publisher sends a matching message last, and
 * since order per publisher is part of the contract, once the sentinel is in everything is.
 */
export function emitterContract(name: string, makeEmitter: () => Promise<Emitter>): void {
  describe(`Emitter contract: ${name}`, () => {
    const made: Emitter[] = [];
    const make = async (): Promise<Emitter> => {
      const emitter = await makeEmitter();
      made.push(emitter);
      return emitter;
    };
    afterEach(async () => {
      for (const emitter of made.splice(0)) await emitter.close();
    });

    /** Publishes `messages` then a sentinel on `sentinelTopic`, and waits for the sentinel. */
    async function publishAndSettle(on: Emitter, messages: Message[], sentinelTopic: string): Promise<void> {
      const sentinel = recorder();
      await on.subscribe(sentinelTopic, sentinel);
      for (const m of messages) await on.publish(m);
      await on.publish(message(sentinelTopic, 'sentinel'));
      await waitFor(() => sentinel.received.length > 0, `the sentinel on ${sentinelTopic}`);
      await on.unsubscribe(sentinelTopic, sentinel);
    }

    test('delivers by exact topic only', async () => {
      const emitter = await make();
      const handler = recorder();
      await emitter.subscribe('e/a/b', handler);
      await publishAndSettle(emitter, [message('e/a/c', 'no'), message('e/a/b', 'yes'), message('e/a/b/c', 'no'), message('e/a', 'no')], 'e/done');
      assert.deepEqual(topicsOf(handler), ['e/a/b']);
      assert.equal(handler.received[0]!.payload.toString(), 'yes');
    });

    test('delivers by + and # filters', async () => {
      const emitter = await make();
      const plus = recorder();
      const hash = recorder();
      const all = recorder();
      const mid = recorder();
      await emitter.subscribe('w/+', plus);
      await emitter.subscribe('w/#', hash);
      await emitter.subscribe('#', all);
      await emitter.subscribe('w/+/c', mid);
      const sent = ['w', 'w/b', 'w/b/c', 'x', 'w/', 'w//c'].map((t) => message(t, t));
      await publishAndSettle(emitter, sent, 'w-done');
      assert.deepEqual(topicsOf(plus), ['w/b', 'w/']);
      assert.deepEqual(topicsOf(hash), ['w', 'w/b', 'w/b/c', 'w/', 'w//c']);
      assert.deepEqual(topicsOf(all), ['w', 'w/b', 'w/b/c', 'x', 'w/', 'w//c', 'w-done']);
      assert.deepEqual(topicsOf(mid), ['w/b/c', 'w//c']);
    });

    test('filter characters that are special to a backend are matched literally', async () => {
      const emitter = await make();
      const star = recorder();
      const bracket = recorder();
      const unicode = recorder();
      await emitter.subscribe('g/*', star);
      await emitter.subscribe('g/[ab]?/+', bracket);
      await emitter.subscribe('g/ü/日本', unicode);
      const sent = ['g/abc', 'g/*', 'g/a/x', 'g/[ab]?/x', 'g/a?/x', 'g/ü/日本', 'g/u/日本', 'g/\\'].map((t) => message(t, t));
      await publishAndSettle(emitter, sent, 'g/done');
      assert.deepEqual(topicsOf(star), ['g/*']);
      assert.deepEqual(topicsOf(bracket), ['g/[ab]?/x']);
      assert.deepEqual(topicsOf(unicode), ['g/ü/日本']);
    });

    test('$-topics are not matched by filters starting with a wildcard [MQTT-4.7.2-1]', async () => {
      const emitter = await make();
      const hash = recorder();
      const plus = recorder();
      const sys = recorder();
      await emitter.subscribe('#', hash);
      await emitter.subscribe('+/x', plus);
      await emitter.subscribe('$SYS/#', sys);
      await publishAndSettle(emitter, [message('$SYS/x', 'sys'), message('a/x', 'plain')], 'sys-done');
      assert.deepEqual(topicsOf(hash), ['a/x', 'sys-done']);
      assert.deepEqual(topicsOf(plus), ['a/x']);
      assert.deepEqual(topicsOf(sys), ['$SYS/x']);
    });

    test('unsubscribe stops delivery to that handler only', async () => {
      const emitter = await make();
      const stays = recorder();
      const leaves = recorder();
      const otherFilter = recorder();
      await emitter.subscribe('u/1', stays);
      await emitter.subscribe('u/1', leaves);
      await emitter.subscribe('u/+', otherFilter);
      await publishAndSettle(emitter, [message('u/1', 'first')], 'u-done');
      await emitter.unsubscribe('u/1', leaves);
      await emitter.unsubscribe('u/never', leaves);
      await publishAndSettle(emitter, [message('u/1', 'second')], 'u-done');
      assert.deepEqual(stays.received.map((m) => m.payload.toString()), ['first', 'second']);
      assert.deepEqual(leaves.received.map((m) => m.payload.toString()), ['first']);
      assert.deepEqual(otherFilter.received.map((m) => m.payload.toString()), ['first', 'second']);
      await emitter.unsubscribe('u/+', otherFilter);
      await publishAndSettle(emitter, [message('u/1', 'third')], 'u-done');
      assert.equal(otherFilter.received.length, 2);
    });

    test('nothing is delivered after close resolves', async () => {
      const emitter = await make();
      const other = await make();
      const handler = recorder();
      await emitter.subscribe('c/x', handler);
      await emitter.publish(message('c/x', 'before'));
      await waitFor(() => handler.received.length === 1, 'the first message');
      // A burst still in flight when close starts: whatever is not delivered by then never is.
      const burst = Array.from({ length: 100 }, (_, i) => emitter.publish(message('c/x', `burst${i}`)));
      await emitter.close();
      const atClose = handler.received.length;
      await Promise.allSettled(burst);
      // Another instance still publishing on the bus (an in-process adapter shares one instance).
      if (other !== emitter) await publishAndSettle(other, [message('c/x', 'after close')], 'c/done');
      await sleep(200);
      assert.equal(handler.received.length, atClose);
    });

    test('keeps the order of one publisher (1,000 messages)', async () => {
      const publisher = await make();
      const subscriber = await make();
      const handler = recorder();
      await subscriber.subscribe('o/+', handler);
      await Promise.all(Array.from({ length: 1_000 }, (_, i) => publisher.publish(message(`o/${i % 7}`, String(i), 1))));
      await waitFor(() => handler.received.length >= 1_000, '1,000 messages');
      assert.deepEqual(handler.received.map((m) => Number(m.payload.toString())), Array.from({ length: 1_000 }, (_, i) => i));
    });

    test('payloads are byte-exact: every byte value, empty and 256 KB', async () => {
      const publisher = await make();
      const subscriber = await make();
      const handler = recorder();
      await subscriber.subscribe('bin/+', handler);
      const sent = [message('bin/all', allBytes(), 1), message('bin/empty', Buffer.alloc(0), 0), message('bin/big', bigPayload(), 2)];
      for (const m of sent) await publisher.publish(m);
      await waitFor(() => handler.received.length >= 3, 'three binary messages');
      assert.equal(handler.received.length, 3);
      sent.forEach((m, i) => {
        const got = handler.received[i]!;
        assert.equal(got.topic, m.topic);
        assert.ok(Buffer.isBuffer(got.payload), 'payload must be a Buffer');
        assert.ok(got.payload.equals(m.payload), `payload of ${m.topic} differs`);
      });
    });

    test('carries qos and retain flags', async () => {
      const publisher = await make();
      const subscriber = await make();
      const handler = recorder();
      await subscriber.subscribe('f/#', handler);
      const sent = [message('f/1', 'a', 0, false), message('f/2', 'b', 1, true), message('f/3', 'c', 2, false), message('f/4', 'd', 2, true)];
      for (const m of sent) await publisher.publish(m);
      await waitFor(() => handler.received.length >= 4, 'four messages');
      assert.deepEqual(handler.received.map((m) => [m.topic, m.qos, m.retain]), sent.map((m) => [m.topic, m.qos, m.retain]));
    });

    test('carries each message id unchanged, to every instance', async () => {
      // Instances recognise two copies of one message by it (the idempotent offline queue).
      const a = await make();
      const b = await make();
      const onA = recorder();
      const onB = recorder();
      await a.subscribe('ids/#', onA);
      await b.subscribe('ids/#', onB);
      const sent = [message('ids/1', 'a', 0), message('ids/2', 'b', 1), { ...message('ids/3', 'c', 2), id: 'x'.repeat(300) }];
      for (const m of sent) await a.publish(m);
      await waitFor(() => onA.received.length >= 3 && onB.received.length >= 3, 'three messages on both instances');
      assert.deepEqual(onA.received.map((m) => m.id), sent.map((m) => m.id));
      assert.deepEqual(onB.received.map((m) => m.id), sent.map((m) => m.id));
    });

    test('carries MQTT 5 properties, User Properties in order, between instances', async () => {
      const publisher = await make();
      const subscriber = await make();
      const handler = recorder();
      await subscriber.subscribe('v5/#', handler);
      const sent = v5Message('v5/props', 'with properties', 1);
      await publisher.publish(sent);
      await publisher.publish(message('v5/plain', 'without'));
      await waitFor(() => handler.received.length >= 2, 'two messages');
      assert.deepEqual(handler.received[0]!.properties, sent.properties);
      assert.equal(handler.received[0]!.expiresAt, sent.expiresAt);
      assert.equal(handler.received[1]!.properties, undefined);
      assert.equal(handler.received[1]!.expiresAt, undefined);
    });

    test('delivers between two emitter instances, both ways, the publisher included', async () => {
      const a = await make();
      const b = await make();
      const onA = recorder();
      const onB = recorder();
      await a.subscribe('two/+', onA);
      await b.subscribe('two/#', onB);
      await a.publish(message('two/from-a', 'A', 1));
      await waitFor(() => onB.received.length >= 1 && onA.received.length >= 1, 'two/from-a on both');
      await b.publish(message('two/from-b', 'B', 2));
      await waitFor(() => onA.received.length >= 2 && onB.received.length >= 2, 'two/from-b on both');
      assert.deepEqual(topicsOf(onA), ['two/from-a', 'two/from-b']);
      assert.deepEqual(topicsOf(onB), ['two/from-a', 'two/from-b']);
    });

    test('sync() resolves only once what any instance published before it has been delivered here', async () => {
      const a = await make();
      const b = await make();
      const onB = recorder();
      await b.subscribe('sync/#', onB);
      const published = Array.from({ length: 200 }, (_, i) => message(`sync/${i}`, String(i), 1));
      await Promise.all(published.map((m) => a.publish(m)));
      await b.sync();
      assert.equal(onB.received.length, 200, 'every message published before sync() was delivered when it resolved');
      await a.sync(); // the publishing instance itself
    });

    test('ping, where the Emitter has one, answers while it is connected', async () => {
      const emitter = await make();
      const probe = recorder();
      await emitter.subscribe('ping/#', probe);
      if (emitter.ping) await emitter.ping();
    });
  });
}

/**
 * `emitter` with `onClose` called once, at its first close(): for factories that put the emitters
 * open at the same time on one bus (a shared prefix, exchange or mesh) and start a new bus once
 * all of them are closed.
 */
export function onFirstClose(emitter: Emitter, onClose: () => void): Emitter {
  let closed = false;
  return {
    publish: (m) => emitter.publish(m),
    subscribe: (f, h) => emitter.subscribe(f, h),
    unsubscribe: (f, h) => emitter.unsubscribe(f, h),
    sync: () => emitter.sync(),
    close: async () => {
      if (!closed) onClose();
      closed = true;
      await emitter.close();
    },
  };
}
