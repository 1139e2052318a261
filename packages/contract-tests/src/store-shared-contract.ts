import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientSubscription, Store } from '@skynet-mqtt/core';

/** (client, filter, qos) of each found subscription, sorted: what the broker needs of them. */
function found(list: ClientSubscription[]): string[] {
  return list.map((s) => `${s.clientId} ${s.topic} ${s.qos}`).sort();
}

/**
 * Shared subscriptions (`$share/<group>/<filter>`) of durable sessions: the group membership the
 * broker finds in the Store. Kept under their whole filter like any subscription, and matched by
 * `<filter>`: subscriptionsByTopic returns them with the whole filter as `topic`, so that a
 * publisher can queue a message for one member of a group none of whose members is connected.
 */
export function sharedSubscriptionStoreContract(store: () => Store, reopen?: () => Promise<Store>, replace?: (next: Store) => void): void {
  describe('shared subscriptions', () => {
    test('are found by the topics their filter matches, beside an ordinary subscription to the same filter', async () => {
      await store().addSubscriptions('m1', [{ topic: '$share/g/sh/+', qos: 1 }, { topic: 'sh/+', qos: 0 }]);
      await store().addSubscriptions('m2', [{ topic: '$share/g/sh/+', qos: 2, subscriptionIdentifier: 7 }, { topic: '$share/other/sh/#', qos: 1 }]);
      assert.deepEqual(found(await store().subscriptionsByTopic('sh/x')), ['m1 $share/g/sh/+ 1', 'm1 sh/+ 0', 'm2 $share/g/sh/+ 2', 'm2 $share/other/sh/# 1']);
      const m2 = (await store().subscriptionsByTopic('sh/x')).find((s) => s.clientId === 'm2' && s.topic === '$share/g/sh/+');
      assert.equal(m2?.subscriptionIdentifier, 7);
      assert.equal(m2?.connected, false);
      assert.deepEqual(found(await store().subscriptionsByTopic('sh/x/y')), ['m2 $share/other/sh/# 1']);
      // Not by the literal topic of the whole filter.
      assert.deepEqual(found(await store().subscriptionsByTopic('$share/g/sh/x')), []);
      assert.deepEqual((await store().getSession('m2'))!.map((s) => s.topic).sort(), ['$share/g/sh/+', '$share/other/sh/#']);
    });

    test('follow the $-topic rule by their filter [MQTT-4.7.2-1]', async () => {
      await store().addSubscriptions('d', [{ topic: '$share/g/#', qos: 1 }, { topic: '$share/g/$SYS/#', qos: 1 }]);
      assert.deepEqual(found(await store().subscriptionsByTopic('$SYS/x')), ['d $share/g/$SYS/# 1']);
      assert.deepEqual(found(await store().subscriptionsByTopic('a')), ['d $share/g/# 1']);
    });

    test('go with removeSubscriptions and deleteSession, and tell whether the member is connected', async () => {
      await store().addSubscriptions('r1', [{ topic: '$share/g/rm', qos: 1 }, { topic: 'rm', qos: 1 }]);
      await store().addSubscriptions('r2', [{ topic: '$share/g/rm', qos: 1 }]);
      await store().setConnected('r2', true);
      assert.deepEqual((await store().subscriptionsByTopic('rm')).filter((s) => s.clientId === 'r2').map((s) => s.connected), [true]);
      await store().removeSubscriptions('r1', ['$share/g/rm']);
      assert.deepEqual(found(await store().subscriptionsByTopic('rm')), ['r1 rm 1', 'r2 $share/g/rm 1']);
      await store().deleteSession('r2');
      assert.deepEqual(found(await store().subscriptionsByTopic('rm')), ['r1 rm 1']);
    });

    if (reopen && replace) {
      test('survive a restart', async () => {
        await store().addSubscriptions('kept', [{ topic: '$share/g/keep/#', qos: 2 }]);
        await store().close();
        replace(await reopen());
        assert.deepEqual(found(await store().subscriptionsByTopic('keep/a')), ['kept $share/g/keep/# 2']);
      });
    }
  });
}
