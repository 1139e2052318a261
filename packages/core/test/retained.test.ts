/** Retained messages: storage per topic, replacement, deletion, the RETAIN flag, QoS. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { flush, harness, payloads, sleep, waitFor } from './helpers.js';

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

  test('one SUBSCRIBE with two filters: each retained message comes at the QoS of the filter it matches', async (t) => {
    const h = await harness(t);
    await h.server.publish({ topic: 'r/one/x', payload: 'one', qos: 2, retain: true });
    await h.server.publish({ topic: 'r/two/x', payload: 'two', qos: 2, retain: true });
    const raw = await h.connectRaw();
    assert.deepEqual(await raw.subscribe([{ topic: 'r/one/#', qos: 1 }, { topic: 'r/two/+', qos: 0 }]), [1, 0]);
    const first = await raw.next('publish');
    const second = await raw.next('publish');
    const byTopic = Object.fromEntries([first, second].map((p) => [p.topic, [p.qos, p.payload.toString(), p.retain]]));
    assert.deepEqual(byTopic, { 'r/one/x': [1, 'one', true], 'r/two/x': [0, 'two', true] });
  });

  test('a SUBSCRIBE that matches no retained message yet gets those published after it, and a later SUBSCRIBE replays them', async (t) => {
    const h = await harness(t);
    await h.server.publish({ topic: 'elsewhere/x', payload: 'other level', qos: 1, retain: true });
    for (const filter of ['none/#', 'none/x']) {
      const sub = await h.subscriber({ [filter]: 1 });
      await flush(sub, h.server);
      assert.deepEqual(sub.messages, [], `nothing retained under ${filter} yet`);
    }
    const sub = await h.subscriber({ 'none/#': 1 });
    const pub = await h.connect();
    await pub.client.publishAsync('none/x', 'now', { qos: 1, retain: true });
    await waitFor(() => sub.messages.length === 1, 'the live message');
    assert.deepEqual([sub.messages[0]!.topic, sub.messages[0]!.payload.toString(), sub.messages[0]!.retain], ['none/x', 'now', false]);
    const later = await h.subscriber({ 'none/#': 1 });
    await waitFor(() => later.messages.length === 1, 'the replayed message');
    assert.deepEqual([later.messages[0]!.topic, later.messages[0]!.payload.toString(), later.messages[0]!.retain], ['none/x', 'now', true]);
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

  test('a subscription matching 20,000 retained messages receives every one at QoS 0 and 1, past a maxQueuedMessages of 10', async (t) => {
    // The replay is paced from the retained index as the socket drains, not copied into the queue.
    const h = await harness(t, { maxQueuedMessages: 10 });
    const count = 20_000;
    for (let i = 0; i < count; i += 1_000) {
      const writes: Promise<unknown>[] = [];
      for (let j = i; j < i + 1_000; j++) writes.push(h.server.publish({ topic: `many/${j % 100}/${j}`, payload: String(j), qos: 1, retain: true }));
      await Promise.all(writes);
    }
    const subscribers = await Promise.all([
      h.subscriber({ 'many/#': 0 }),
      h.subscriber({ 'many/#': 1 }),
      h.subscriber({ 'many/#': 1 }, { clean: false, clientId: 'replay-durable' }),
    ]);
    // Live traffic flows while the replay runs.
    await h.server.publish({ topic: 'many/live', payload: 'live', qos: 1 });
    for (const [i, sub] of subscribers.entries()) {
      await waitFor(() => sub.messages.length === count + 1, `all ${count} retained messages and the live one (subscriber ${i})`, 120_000);
      const retained = sub.messages.filter((m) => m.retain);
      assert.equal(new Set(retained.map((m) => m.topic)).size, count, 'each retained topic once');
      assert.ok(retained.every((m) => m.payload.toString() === m.topic.split('/')[2]));
      assert.ok(retained.every((m) => m.qos === (i === 0 ? 0 : 1)), 'at the granted QoS');
      assert.deepEqual(payloads({ ...sub, messages: sub.messages.filter((m) => !m.retain) }), ['live']);
    }
    assert.equal(h.server.stats.dropped, 0, 'nothing dropped');
  });

  test('a retained replay holds at most a page and the socket\'s high-water mark while the client does not read', async (t) => {
    const h = await harness(t, { maxQueuedMessages: 10 });
    const count = 5_000;
    const payload = Buffer.alloc(1024, 'r');
    await Promise.all(Array.from({ length: count }, (_, i) => h.server.publish({ topic: `slow/${i}`, payload, retain: true })));
    const raw = await h.connectRaw({ clientId: 'slow-reader' });
    const broker = h.server.clients['slow-reader']!;
    let peak = 0;
    let sampling = true;
    const sample = (): void => {
      peak = Math.max(peak, broker.stream.writableLength);
      if (sampling) setImmediate(sample);
    };
    sample();
    raw.socket.pause();
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'slow/#', qos: 0 }] });
    await sleep(300);
    raw.socket.resume();
    await waitFor(() => raw.pending('publish').length === count, `all ${count} retained messages`, 60_000);
    sampling = false;
    assert.ok(peak <= 64 * 1024 + 2 * payload.length, `at most 64 KB unsent in the broker, saw ${peak}`);
    assert.equal(broker.outbound.waitingCount, 0);
    assert.equal(h.server.stats.dropped, 0);
  });
});

