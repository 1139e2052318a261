/** Ordering: messages from one publisher on one topic reach a subscriber in the order sent. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { harness, payloads, waitFor } from './helpers.js';

describe('PUBLISH ordering', () => {
  for (const qos of [0, 1, 2] as const) {
    const count = 500;
    test(`${count} QoS ${qos} messages from one publisher arrive complete and in order`, async (t) => {
      // [MQTT-4.6.0-6] the server treats each topic as an ordered topic.
      const h = await harness(t);
      const sub = await h.subscriber({ order: qos });
      const pub = await h.connect();
      for (let i = 0; i < count; i++) pub.client.publish('order', String(i), { qos });
      await waitFor(() => sub.messages.length === count, `${count} messages`, 10_000);
      assert.deepEqual(payloads(sub), Array.from({ length: count }, (_, i) => String(i)));
      assert.ok(sub.messages.every((m) => m.qos === qos && !m.dup));
    });
  }
});
