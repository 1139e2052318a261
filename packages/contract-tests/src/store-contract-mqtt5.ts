import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, Store } from '@skynet-mqtt/core';
import { v5Message, v5Properties } from './fixtures.js';

/** Properties must come back as they went in: every one, User Properties in order. */
export function assertSameProperties(actual: Message | undefined, expected: Message): void {
  assert.ok(actual, `expected a message on ${expected.topic}`);
  assert.deepEqual(actual.properties, expected.properties, `properties of ${expected.topic}`);
  assert.ok(actual.payload.equals(expected.payload), `payload of ${expected.topic}`);
}

/** What MQTT 5 adds to what a Store keeps: run inside storeContract, on its fresh store. */
export function mqtt5StoreContract(store: () => Store): void {
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
