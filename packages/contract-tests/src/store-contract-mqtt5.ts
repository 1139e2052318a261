import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageContent, Store } from '@skynet-mqtt/core';
import { v5Message, v5Properties } from './fixtures.js';
import { sleep } from './wait.js';

/** Properties and expiry time must come back as they went in: every property, User Properties in order. */
export function assertSameProperties(actual: MessageContent | undefined, expected: MessageContent): void {
  assert.ok(actual, `expected a message on ${expected.topic}`);
  assert.deepEqual(actual.properties, expected.properties, `properties of ${expected.topic}`);
  assert.equal(actual.expiresAt, expected.expiresAt, `expiry time of ${expected.topic}`);
  assert.ok(actual.payload.equals(expected.payload), `payload of ${expected.topic}`);
}

/**
 * What MQTT 5 adds to what a Store keeps: run inside storeContract, on its fresh store. `reopen`
 * is the adapter's (see StoreContractOptions), for what must survive a restart.
 */
export function mqtt5StoreContract(store: () => Store, reopen?: () => Promise<Store>, replace?: (next: Store) => void): void {
  describe('MQTT 5 session expiry', () => {
    test("an offline session lives for its own expiry interval, remembered from when it connected", async () => {
      await store().addSubscriptions('brief', [{ topic: 'exp/+', qos: 1 }]);
      await store().setConnected('brief', true, 150);
      await store().addSubscriptions('default', [{ topic: 'exp/+', qos: 1 }]);
      await store().setConnected('default', true);
      await store().setConnected('brief', false);
      await store().setConnected('default', false);
      assert.ok(await store().getSession('brief'), 'alive within its interval');
      await sleep(300);
      assert.equal(await store().getSession('brief'), null, 'gone after it');
      assert.deepEqual((await store().subscriptionsByTopic('exp/1')).map((s) => s.clientId), ['default']);
      // An interval given when going offline wins over the remembered one.
      await store().setConnected('default', true, 60_000);
      await store().setConnected('default', false, 100);
      await sleep(250);
      assert.equal(await store().getSession('default'), null);
    });

    if (reopen && replace) {
      test('a session connected when the broker stopped expires by its own interval after a restart', async () => {
        await store().addSubscriptions('crashed', [{ topic: 'c', qos: 1 }]);
        await store().setConnected('crashed', true, 200);
        await store().close();
        replace(await reopen());
        assert.ok(await store().getSession('crashed'), 'offline now, alive within its interval');
        await sleep(400);
        assert.equal(await store().getSession('crashed'), null);
      });
    }
  });

  describe('MQTT 5 subscription options and identifiers', () => {
    const subscriptions = [
      { topic: 'opt/plain', qos: 1 as const },
      { topic: 'opt/+', qos: 2 as const, nl: true, rap: true, rh: 2 as const, subscriptionIdentifier: 268_435_455 },
      { topic: 'opt/#', qos: 0 as const, rh: 1 as const, subscriptionIdentifier: 1 },
    ];
    const byTopic = (list: readonly { topic: string }[]) => [...list].sort((a, b) => a.topic.localeCompare(b.topic));

    test('are kept with each subscription and found by topic', async () => {
      await store().addSubscriptions('opts', subscriptions);
      assert.deepEqual(byTopic((await store().getSession('opts'))!), byTopic(subscriptions));
      const found = await store().subscriptionsByTopic('opt/plain');
      assert.deepEqual(byTopic(found.map(({ clientId: _c, connected: _s, ...subscription }) => subscription)), byTopic(subscriptions));
      // Replacing a subscription replaces its options too.
      await store().addSubscriptions('opts', [{ topic: 'opt/+', qos: 1 }]);
      assert.deepEqual((await store().getSession('opts'))!.find((s) => s.topic === 'opt/+'), { topic: 'opt/+', qos: 1 });
    });

    if (reopen && replace) {
      test('survive a restart', async () => {
        await store().addSubscriptions('opts', subscriptions);
        await store().close();
        replace(await reopen());
        assert.deepEqual(byTopic((await store().getSession('opts'))!), byTopic(subscriptions));
      });
    }

    test("a subscriber's copy keeps its subscription identifiers, queued and in flight", async () => {
      await store().createSession('ids');
      const queued = { ...v5Message('ids/q', 'q', 1), subscriptionIdentifiers: [3, 70_000] };
      await store().enqueue('ids', queued);
      assert.deepEqual((await store().peekQueue('ids', 1))[0]?.message.subscriptionIdentifiers, [3, 70_000]);
      await store().putOutgoing('ids', { ...queued, messageId: 4 });
      assert.deepEqual((await store().getOutgoing('ids'))[0]?.subscriptionIdentifiers, [3, 70_000]);
    });
  });

  describe('MQTT 5 message properties', () => {
    test('retained messages keep their properties', async () => {
      const retained = v5Message('v5/r', 'kept', 1, true);
      await store().storeRetained(retained);
      assertSameProperties((await store().matchRetained(['v5/+']))[0], retained);
    });

    test('queued and in-flight messages keep their properties', async () => {
      const queued = v5Message('v5/q', 'queued', 2);
      await store().createSession('v5');
      await store().enqueue('v5', queued);
      assertSameProperties((await store().peekQueue('v5', 10))[0]?.message, queued);
      const outgoing = { ...v5Message('v5/o', 'out', 1), messageId: 9 };
      await store().putOutgoing('v5', outgoing);
      assertSameProperties((await store().getOutgoing('v5'))[0], outgoing);
      const released = { ...outgoing, released: true };
      await store().putOutgoing('v5', released);
      assert.deepEqual((await store().getOutgoing('v5'))[0]?.properties, v5Properties());
    });

    test('wills keep their properties; messages without properties get none', async () => {
      const will = v5Message('v5/will', 'gone', 1);
      await store().putWill('v5w', will);
      assertSameProperties((await store().getWill('v5w')) ?? undefined, will);
      await store().putWill('plain', { topic: 'p', payload: Buffer.from('x'), qos: 0, retain: false });
      assert.equal((await store().getWill('plain'))?.properties, undefined);
    });
  });
}
