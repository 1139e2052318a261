/** SUBSCRIBE and UNSUBSCRIBE: return codes, overlapping filters, authorization, replacement. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { flush, harness, payloads, waitFor } from './helpers.js';

const FAILURE = 0x80;

describe('SUBSCRIBE', () => {
  test('one return code per filter, in order; overlapping filters deliver once at the highest QoS', async (t) => {
    // [MQTT-3.8.4-4] [MQTT-3.8.4-5] one return code per filter, in order. (A filter with misplaced
    // wildcards closes the connection instead: see strict-subscribe.test.ts.)
    const h = await harness(t);
    const raw = await h.connectRaw();
    const granted = await raw.subscribe(
      [
        { topic: 'ok/one', qos: 1 },
        { topic: 'ok/#', qos: 2 },
        { topic: 'ok/+/x', qos: 0 },
      ],
      42,
    );
    assert.deepEqual(granted, [1, 2, 0]);
    await h.server.publish({ topic: 'ok/one', payload: 'm', qos: 2 });
    const packet = await raw.next('publish');
    // Matched by ok/one (QoS 1) and ok/# (QoS 2): one copy at the highest.
    assert.deepEqual([packet.topic, packet.qos], ['ok/one', 2]);
    await raw.ping();
    assert.deepEqual(raw.pending('publish'), []);
  });

  test('QoS 2 is granted as asked, not downgraded to 1', async (t) => {
    const h = await harness(t);
    const raw = await h.connectRaw();
    assert.deepEqual(await raw.subscribe([{ topic: 'g/0', qos: 0 }, { topic: 'g/1', qos: 1 }, { topic: 'g/2', qos: 2 }]), [0, 1, 2]);
  });

  test('overlapping subscriptions of one client deliver one copy at the highest QoS', async (t) => {
    // [MQTT-3.3.5-1]
    const h = await harness(t);
    const sub = await h.subscriber({ 'a/#': 1, 'a/b': 2 });
    await h.server.publish({ topic: 'a/b', payload: 'both', qos: 2 });
    await h.server.publish({ topic: 'a/c', payload: 'one', qos: 2 });
    await flush(sub, h.server);
    // Sorted: mqtt.js hands a QoS 2 message over on PUBREL, after a QoS 1 one that followed it.
    assert.deepEqual(sub.messages.map((m) => [m.topic, m.qos]).sort(), [['a/b', 2], ['a/c', 1]]);
  });

  for (const style of ['callback', 'promise'] as const) {
    test(`authorizeSubscribe (${style}) false gives 0x80 for that filter only, and nothing is delivered on it`, async (t) => {
      const h = await harness(t);
      const calls: [string, string][] = [];
      h.server.authorizeSubscribe = (client, topic, callback) => {
        calls.push([client.id, topic]);
        const allowed = !topic.startsWith('secret');
        if (style === 'promise') return Promise.resolve(allowed);
        setImmediate(() => callback(null, allowed));
        return undefined;
      };
      const raw = await h.connectRaw({ clientId: 'authz' });
      assert.deepEqual(await raw.subscribe([{ topic: 'open', qos: 1 }, { topic: 'secret/#', qos: 1 }]), [1, FAILURE]);
      assert.deepEqual(calls, [['authz', 'open'], ['authz', 'secret/#']]);
      await h.server.publish({ topic: 'secret/x', payload: 's', qos: 1 });
      await h.server.publish({ topic: 'open', payload: 'o', qos: 1 });
      const packet = await raw.next('publish');
      assert.equal(packet.topic, 'open');
      await raw.ping();
      assert.deepEqual(raw.pending('publish'), []);
    });
  }

  test('authorizeSubscribe failing with an error closes the connection', async (t) => {
    const h = await harness(t);
    h.server.authorizeSubscribe = (_client, _topic, callback) => callback(new Error('boom'));
    const raw = await h.connectRaw();
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x', qos: 0 }] });
    await raw.waitClosed();
    assert.deepEqual(raw.pending('suback'), []);
  });

  test('re-subscribing to a filter replaces its QoS and sends the retained messages again', async (t) => {
    // [MQTT-3.8.4-3]
    const h = await harness(t);
    await h.server.publish({ topic: 'rs/t', payload: 'kept', qos: 2, retain: true });
    const raw = await h.connectRaw();
    assert.deepEqual(await raw.subscribe([{ topic: 'rs/#', qos: 2 }], 1), [2]);
    const first = await raw.next('publish');
    assert.deepEqual([first.payload.toString(), first.qos, first.retain], ['kept', 2, true]);
    raw.send({ cmd: 'pubrec', messageId: first.messageId! });
    raw.send({ cmd: 'pubcomp', messageId: first.messageId! });

    assert.deepEqual(await raw.subscribe([{ topic: 'rs/#', qos: 0 }], 2), [0]);
    const again = await raw.next('publish');
    assert.deepEqual([again.payload.toString(), again.qos, again.retain], ['kept', 0, true]);

    await h.server.publish({ topic: 'rs/t', payload: 'live', qos: 2 });
    const live = await raw.next('publish');
    assert.deepEqual([live.payload.toString(), live.qos], ['live', 0], 'delivered once, at the new QoS');
    await raw.ping();
    assert.deepEqual(raw.pending('publish'), []);
  });
});

describe('UNSUBSCRIBE', () => {
  test('stops delivery on that filter only, and is acknowledged with the packet id', async (t) => {
    // [MQTT-3.10.4-2] [MQTT-3.10.4-4]
    const h = await harness(t);
    const sub = await h.subscriber({ 'u/a': 1, 'u/b': 1 });
    await h.server.publish({ topic: 'u/a', payload: 'before', qos: 1 });
    await waitFor(() => sub.messages.length === 1, 'the first message');
    await sub.client.unsubscribeAsync('u/a');
    await h.server.publish({ topic: 'u/a', payload: 'after', qos: 1 });
    await h.server.publish({ topic: 'u/b', payload: 'still', qos: 1 });
    await flush(sub, h.server);
    assert.deepEqual(payloads(sub), ['before', 'still']);
  });

  test('a filter never subscribed is acknowledged too', async (t) => {
    // [MQTT-3.10.4-5]
    const h = await harness(t);
    const raw = await h.connectRaw({ clean: false, clientId: 'unsub-durable' });
    raw.send({ cmd: 'unsubscribe', messageId: 31, unsubscriptions: ['never/subscribed', 'nor/+/this'] });
    assert.equal((await raw.next('unsuback')).messageId, 31);
    assert.equal(raw.closed, false);
  });
});
