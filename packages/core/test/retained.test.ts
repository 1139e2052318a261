/** Retained messages: storage per topic, replacement, deletion, the RETAIN flag, QoS. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { flush, harness, waitFor } from './helpers.js';

describe('retained messages', () => {
  test('a new subscriber gets the last retained message of each matching topic, with RETAIN=1, wildcards included', async (t) => {
    // [MQTT-3.3.1-5] [MQTT-3.3.1-6] [MQTT-3.3.1-8]
    const h = await harness(t);
    const pub = await h.connect();
    await pub.client.publishAsync('r/a/b', 'old', { qos: 1, retain: true });
    await pub.client.publishAsync('r/a/b', 'new', { qos: 1, retain: true }); // replaces 'old'
    await pub.client.publishAsync('r/c/b', 'other', { qos: 1, retain: true });
    await pub.client.publishAsync('r/a/plain', 'not retained', { qos: 1 });
    for (const filter of ['r/a/b', 'r/+/b', 'r/#']) {
      const sub = await h.subscriber({ [filter]: 1 });
      await flush(sub, h.server);
      const expected = filter === 'r/a/b' ? [['r/a/b', 'new']] : [['r/a/b', 'new'], ['r/c/b', 'other']];
      assert.deepEqual(sub.messages.map((m) => [m.topic, m.payload.toString()]).sort(), expected, filter);
      assert.ok(sub.messages.every((m) => m.retain), `RETAIN=1 through ${filter}`);
    }
  });

  test('a message published with retain is forwarded with RETAIN=0 to existing subscribers', async (t) => {
    // [MQTT-3.3.1-9]
    const h = await harness(t);
    const sub = await h.subscriber({ 'r/live': 1 });
    const pub = await h.connect();
    await pub.client.publishAsync('r/live', 'x', { qos: 1, retain: true });
    await waitFor(() => sub.messages.length === 1, 'the message');
    assert.equal(sub.messages[0]!.retain, false);
  });

  test('an empty retained payload deletes the retained message: existing subscribers get it, later ones nothing', async (t) => {
    // [MQTT-3.3.1-10] [MQTT-3.3.1-11]
    const h = await harness(t);
    const pub = await h.connect();
    await pub.client.publishAsync('r/del', 'doomed', { qos: 1, retain: true });
    const existing = await h.subscriber({ 'r/del': 1 });
    await pub.client.publishAsync('r/del', '', { qos: 1, retain: true });
    await flush(existing, pub);
    assert.deepEqual(existing.messages.map((m) => [m.payload.length, m.retain]), [[6, true], [0, false]]);
    const later = await h.subscriber({ 'r/#': 1 });
    await flush(later, h.server);
    assert.deepEqual(later.messages, []);
  });

  test('a publish without retain neither stores nor replaces the retained message', async (t) => {
    // [MQTT-3.3.1-12]
    const h = await harness(t);
    await h.server.publish({ topic: 'r/keep', payload: 'retained', qos: 1, retain: true });
    await h.server.publish({ topic: 'r/keep', payload: 'passing', qos: 1 });
    await h.server.publish({ topic: 'r/keep', payload: '', qos: 1 });
    const sub = await h.subscriber({ 'r/keep': 1 });
    await flush(sub, h.server);
    assert.deepEqual(sub.messages.map((m) => m.payload.toString()), ['retained']);
  });

  test('a QoS 0 retained message replaces a QoS 1 one', async (t) => {
    // [MQTT-3.3.1-7]
    const h = await harness(t);
    await h.server.publish({ topic: 'r/q', payload: 'q1', qos: 1, retain: true });
    await h.server.publish({ topic: 'r/q', payload: 'q0', qos: 0, retain: true });
    const sub = await h.subscriber({ 'r/q': 2 });
    await flush(sub, h.server);
    assert.deepEqual(sub.messages.map((m) => [m.payload.toString(), m.qos]), [['q0', 0]]);
  });

  test('the QoS of a retained message is capped by the subscription QoS', async (t) => {
    // [MQTT-3.8.4-6]
    const h = await harness(t);
    await h.server.publish({ topic: 'r/cap', payload: 'two', qos: 2, retain: true });
    for (const granted of [0, 1, 2]) {
      const raw = await h.connectRaw();
      await raw.subscribe([{ topic: 'r/cap', qos: granted }]);
      const packet = await raw.next('publish');
      assert.deepEqual([packet.qos, packet.retain], [granted, true], `granted ${granted}`);
    }
  });

  test('one SUBSCRIBE with two filters matching a retained message gets one copy, at the higher QoS', async (t) => {
    const h = await harness(t);
    await h.server.publish({ topic: 'r/two/x', payload: 'once', qos: 2, retain: true });
    const raw = await h.connectRaw();
    assert.deepEqual(await raw.subscribe([{ topic: 'r/two/#', qos: 1 }, { topic: 'r/+/x', qos: 2 }]), [1, 2]);
    const packet = await raw.next('publish');
    assert.deepEqual([packet.topic, packet.qos, packet.retain], ['r/two/x', 2, true]);
    await raw.ping();
    assert.deepEqual(raw.pending('publish'), []);
  });

  test("retained $SYS messages are not sent through '#' but through '$SYS/#'", async (t) => {
    // [MQTT-4.7.2-1]
    const h = await harness(t, { publishNewClient: false, publishSubscriptions: false }); // no $SYS events of its own
    await h.server.publish({ topic: '$SYS/retained', payload: 's', retain: true });
    await h.server.publish({ topic: 'plain', payload: 'p', retain: true });
    const hash = await h.connectRaw();
    await hash.subscribe([{ topic: '#', qos: 0 }]);
    await hash.ping();
    assert.deepEqual(hash.pending('publish').map((p) => p.topic), ['plain']);
    const dollar = await h.connectRaw();
    await dollar.subscribe([{ topic: '$SYS/#', qos: 0 }]);
    assert.equal((await dollar.next('publish')).topic, '$SYS/retained');
  });

  test('authorizeForward applies to retained messages', async (t) => {
    const h = await harness(t);
    h.server.authorizeForward = (_client, packet) => packet.topic !== 'r/hidden';
    await h.server.publish({ topic: 'r/hidden', payload: 'h', retain: true });
    await h.server.publish({ topic: 'r/shown', payload: 's', retain: true });
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'r/#', qos: 0 }]);
    assert.equal((await raw.next('publish')).topic, 'r/shown');
    await raw.ping();
    assert.deepEqual(raw.pending('publish'), []);
  });
});
