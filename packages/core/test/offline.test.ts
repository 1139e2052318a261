/**
 * Durable sessions (clean=false): the offline queue, and in-flight messages re-sent on reconnect.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { disconnect, disconnectionOf, flush, harness, payloads, waitFor, type Harness, type RawClient } from './helpers.js';

/** Closes the raw client's socket (no DISCONNECT) and waits until the broker ended its session. */
async function drop(h: Harness, raw: RawClient, clientId: string): Promise<void> {
  const ended = disconnectionOf(h.server, clientId);
  raw.close();
  await ended;
}

describe('offline queue', () => {
  test('20 QoS 1 messages published while a durable subscriber is away arrive in order on reconnect', async (t) => {
    // [MQTT-3.1.2-4] [MQTT-3.1.2-5] [MQTT-3.2.2-2]
    const h = await harness(t);
    const options = { clientId: 'durable-1', clean: false };
    const first = await h.subscriber({ 'off/q': 1 }, options);
    await disconnect(h, first);
    const pub = await h.connect();
    for (let i = 0; i < 20; i++) await pub.client.publishAsync('off/q', String(i), { qos: 1 });
    const again = await h.connect(options);
    assert.equal(again.connack.sessionPresent, true);
    await waitFor(() => again.messages.length === 20, '20 queued messages');
    assert.deepEqual(payloads(again), Array.from({ length: 20 }, (_, i) => String(i)));
    assert.ok(again.messages.every((m) => m.qos === 1 && !m.retain));
  });

  test('queued messages keep min(publish QoS, granted QoS)', async (t) => {
    const h = await harness(t);
    const options = { clientId: 'durable-min', clean: false };
    await disconnect(h, await h.subscriber({ 'off/min': 1 }, options));
    await h.server.publish({ topic: 'off/min', payload: 'two', qos: 2 });
    const again = await h.connect(options);
    await waitFor(() => again.messages.length === 1, 'the queued message');
    assert.equal(again.messages[0]!.qos, 1);
  });

  for (const storeMessagesQos0 of [false, true]) {
    test(`QoS 0 messages are ${storeMessagesQos0 ? '' : 'not '}queued with storeMessagesQos0: ${storeMessagesQos0}`, async (t) => {
      const h = await harness(t, { storeMessagesQos0 });
      const options = { clientId: `durable-q0-${storeMessagesQos0}`, clean: false };
      await disconnect(h, await h.subscriber({ 'off/0': 1 }, options));
      await h.server.publish({ topic: 'off/0', payload: 'qos0', qos: 0 });
      await h.server.publish({ topic: 'off/0', payload: 'qos1', qos: 1 });
      const again = await h.connect(options);
      await flush(again, h.server);
      assert.deepEqual(payloads(again), storeMessagesQos0 ? ['qos0', 'qos1'] : ['qos1']);
      assert.deepEqual(again.messages.map((m) => m.qos), storeMessagesQos0 ? [0, 1] : [1]);
    });
  }

  test('a durable client holding overlapping filters gets one queued copy, at the highest QoS', async (t) => {
    // [MQTT-3.3.5-1]
    const h = await harness(t);
    const options = { clientId: 'durable-overlap', clean: false };
    await disconnect(h, await h.subscriber({ 'ov/#': 1, 'ov/b': 2 }, options));
    await h.server.publish({ topic: 'ov/b', payload: 'once', qos: 2 });
    const again = await h.connect(options);
    await flush(again, h.server);
    assert.deepEqual(again.messages.map((m) => [m.topic, m.qos]), [['ov/b', 2]]);
  });

  test('a retained message published while away is delivered once on reconnect, not again as retained', async (t) => {
    // Mosca delivered it twice (its issue #383): queued, and replayed as retained.
    const h = await harness(t);
    const options = { clientId: 'durable-retained', clean: false };
    await disconnect(h, await h.subscriber({ 'rt/x': 1 }, options));
    await h.server.publish({ topic: 'rt/x', payload: 'r', qos: 1, retain: true });
    const again = await h.connect(options);
    await flush(again, h.server);
    assert.deepEqual(payloads(again), ['r']);
  });

  test('authorizeForward applies to messages queued while the client was away', async (t) => {
    // Mosca's authorizeForward runs for every outbound packet, offline ones included.
    const h = await harness(t);
    h.server.authorizeForward = (_client, packet) => packet.topic !== 'af/secret';
    const options = { clientId: 'durable-forward', clean: false };
    await disconnect(h, await h.subscriber({ 'af/#': 1 }, options));
    await h.server.publish({ topic: 'af/secret', payload: 'hidden', qos: 1 });
    await h.server.publish({ topic: 'af/open', payload: 'shown', qos: 1 });
    const again = await h.connect(options);
    await flush(again, h.server);
    assert.deepEqual(again.messages.map((m) => m.topic), ['af/open']);
  });

  test('a clean session gets nothing published while it was away', async (t) => {
    const h = await harness(t);
    await disconnect(h, await h.subscriber({ 'off/clean': 1 }, { clientId: 'clean-1', clean: true }));
    await h.server.publish({ topic: 'off/clean', payload: 'lost', qos: 1 });
    const again = await h.connect({ clientId: 'clean-1', clean: true });
    assert.equal(again.connack.sessionPresent, false);
    await again.client.subscribeAsync('off/clean', { qos: 1 });
    await flush(again, h.server);
    assert.deepEqual(again.messages, []);
  });
});

describe('in-flight messages of a durable session', () => {
  const session = { clientId: 'raw-durable', clean: false };

  test('an unacknowledged QoS 1 PUBLISH is re-sent with DUP=1 and the same packet id, then forgotten once acked', async (t) => {
    // [MQTT-4.4.0-1] [MQTT-3.3.1-1] [MQTT-2.3.1-3]
    const h = await harness(t);
    const raw = await h.connectRaw(session);
    await raw.subscribe([{ topic: 'if/1', qos: 1 }]);
    await h.server.publish({ topic: 'if/1', payload: 'unacked', qos: 1 });
    const sent = await raw.next('publish');
    assert.equal(sent.dup, false);
    await drop(h, raw, session.clientId);

    const back = await h.connectRaw(session);
    const resent = await back.next('publish');
    assert.deepEqual(
      [resent.topic, resent.payload.toString(), resent.qos, resent.dup, resent.messageId],
      ['if/1', 'unacked', 1, true, sent.messageId],
    );
    back.send({ cmd: 'puback', messageId: resent.messageId! });
    await back.ping();
    await drop(h, back, session.clientId);

    const third = await h.connectRaw(session);
    await third.ping();
    assert.deepEqual(third.pending('publish'), [], 'nothing re-sent once acknowledged');
  });

  test('unacknowledged messages come back before what was queued while away, in order', async (t) => {
    // [MQTT-4.6.0-1] re-sent in the order originally sent, ahead of newer messages.
    const h = await harness(t);
    const raw = await h.connectRaw(session);
    await raw.subscribe([{ topic: 'if/order', qos: 1 }]);
    await h.server.publish({ topic: 'if/order', payload: 'm1', qos: 1 });
    await h.server.publish({ topic: 'if/order', payload: 'm2', qos: 1 });
    await raw.ping();
    assert.equal(raw.pending('publish').length, 2);
    await drop(h, raw, session.clientId);
    await h.server.publish({ topic: 'if/order', payload: 'm3', qos: 1 });

    const back = await h.connectRaw(session);
    const received = [];
    for (let i = 0; i < 3; i++) received.push(await back.next('publish'));
    assert.deepEqual(received.map((p) => [p.payload.toString(), p.dup]), [['m1', true], ['m2', true], ['m3', false]]);
    assert.equal(new Set(received.map((p) => p.messageId)).size, 3, 'distinct packet ids');
  });

  test('a QoS 2 PUBLISH without PUBREC is re-sent with DUP=1', async (t) => {
    // [MQTT-4.4.0-1]
    const h = await harness(t);
    const raw = await h.connectRaw(session);
    await raw.subscribe([{ topic: 'if/2', qos: 2 }]);
    await h.server.publish({ topic: 'if/2', payload: 'q2', qos: 2 });
    const sent = await raw.next('publish');
    await drop(h, raw, session.clientId);
    const back = await h.connectRaw(session);
    const resent = await back.next('publish');
    assert.deepEqual([resent.qos, resent.dup, resent.messageId], [2, true, sent.messageId]);
  });

  test('a QoS 2 message whose PUBREC was received gets PUBREL re-sent, not the PUBLISH', async (t) => {
    // [MQTT-4.4.0-1] [MQTT-4.3.3-1]
    const h = await harness(t);
    const delivered: string[] = [];
    h.server.on('delivered', (packet: { payload: Buffer }) => delivered.push(packet.payload.toString()));
    const raw = await h.connectRaw(session);
    await raw.subscribe([{ topic: 'if/rel', qos: 2 }]);
    await h.server.publish({ topic: 'if/rel', payload: 'released', qos: 2 });
    const sent = await raw.next('publish');
    raw.send({ cmd: 'pubrec', messageId: sent.messageId! });
    assert.equal((await raw.next('pubrel')).messageId, sent.messageId);
    await drop(h, raw, session.clientId);

    const back = await h.connectRaw(session);
    assert.equal((await back.next('pubrel')).messageId, sent.messageId);
    await back.ping();
    assert.deepEqual(back.pending('publish'), [], 'the PUBLISH is not sent again');
    back.send({ cmd: 'pubcomp', messageId: sent.messageId! });
    await waitFor(() => delivered.length === 1, 'the delivered event');
    assert.deepEqual(delivered, ['released']);
  });
});

describe('QoS 2 inbound on a durable session', () => {
  test('a PUBLISH re-sent after a reconnect, before PUBREL, is not delivered again', async (t) => {
    // [MQTT-4.3.3-2] the packet id stays unreleased across connections of the session.
    const h = await harness(t);
    const sub = await h.subscriber({ 'in2/x': 2 });
    const session = { clientId: 'durable-pub', clean: false };
    const raw = await h.connectRaw(session);
    const publishPacket = { cmd: 'publish', topic: 'in2/x', payload: Buffer.from('once'), qos: 2, dup: false, retain: false, messageId: 12 } as const;
    raw.send(publishPacket);
    assert.equal((await raw.next('pubrec')).messageId, 12);
    await drop(h, raw, session.clientId);

    const back = await h.connectRaw(session);
    back.send({ ...publishPacket, dup: true });
    assert.equal((await back.next('pubrec')).messageId, 12);
    back.send({ cmd: 'pubrel', messageId: 12 });
    assert.equal((await back.next('pubcomp')).messageId, 12);
    await flush(sub, h.server);
    assert.deepEqual(payloads(sub), ['once']);
  });
});
