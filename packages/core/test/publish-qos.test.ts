/**
 * PUBLISH at QoS 0, 1 and 2, inbound and outbound, through real sockets: acknowledgements, the
 * QoS 2 four-way exchange in both directions, exactly-once inbound, delivery QoS, packet ids.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingPacket as IPublishPacket } from '../src/index.js';
import { flush, harness, payloads, waitFor } from './helpers.js';

describe('PUBLISH QoS levels', () => {
  test('QoS 0, 1 and 2 from mqtt.js reach a QoS 2 subscriber at the published QoS', async (t) => {
    const h = await harness(t);
    const sub = await h.subscriber({ 'q/#': 2 });
    const pub = await h.connect();
    for (const qos of [0, 1, 2] as const) await pub.client.publishAsync(`q/${qos}`, `m${qos}`, { qos });
    await waitFor(() => sub.messages.length === 3, 'three messages');
    assert.deepEqual(
      sub.messages.map((m) => [m.topic, m.payload.toString(), m.qos, m.dup]),
      [['q/0', 'm0', 0, false], ['q/1', 'm1', 1, false], ['q/2', 'm2', 2, false]],
    );
  });

  test('delivery QoS is min(publish QoS, granted QoS) for every pair', async (t) => {
    // [MQTT-3.8.4-6] [MQTT-3.3.5-1]
    const h = await harness(t);
    const subs = [await h.subscriber({ 'min/#': 0 }), await h.subscriber({ 'min/#': 1 }), await h.subscriber({ 'min/#': 2 })];
    const pub = await h.connect();
    for (const qos of [0, 1, 2] as const) await pub.client.publishAsync(`min/${qos}`, String(qos), { qos });
    for (const [granted, sub] of subs.entries()) {
      await waitFor(() => sub.messages.length === 3, `three messages at granted QoS ${granted}`);
      assert.deepEqual(
        sub.messages.map((m) => [m.topic, m.qos]),
        [0, 1, 2].map((qos) => [`min/${qos}`, Math.min(qos, granted)]),
        `subscriber granted QoS ${granted}`,
      );
    }
  });

  test('QoS 1 inbound is answered with PUBACK carrying the packet id', async (t) => {
    // [MQTT-4.3.2-2]
    const h = await harness(t);
    const sub = await h.subscriber({ 'in/1': 1 });
    const raw = await h.connectRaw();
    raw.send({ cmd: 'publish', topic: 'in/1', payload: Buffer.from('one'), qos: 1, dup: false, retain: false, messageId: 4242 });
    const puback = await raw.next('puback');
    assert.equal(puback.messageId, 4242);
    await waitFor(() => sub.messages.length === 1, 'the message');
    assert.equal(sub.messages[0]!.qos, 1);
  });

  test('QoS 0 inbound gets no acknowledgement', async (t) => {
    const h = await harness(t);
    const raw = await h.connectRaw();
    raw.send({ cmd: 'publish', topic: 'in/0', payload: Buffer.from('zero'), qos: 0, dup: false, retain: false });
    await raw.ping();
    assert.deepEqual(raw.packets, []);
  });

  test('QoS 2 inbound: PUBREC, then PUBREL is answered with PUBCOMP', async (t) => {
    // [MQTT-4.3.3-2]
    const h = await harness(t);
    const sub = await h.subscriber({ 'in/2': 2 });
    const raw = await h.connectRaw();
    raw.send({ cmd: 'publish', topic: 'in/2', payload: Buffer.from('two'), qos: 2, dup: false, retain: false, messageId: 77 });
    assert.equal((await raw.next('pubrec')).messageId, 77);
    raw.send({ cmd: 'pubrel', messageId: 77 });
    assert.equal((await raw.next('pubcomp')).messageId, 77);
    await waitFor(() => sub.messages.length === 1, 'the message');
    assert.deepEqual([sub.messages[0]!.payload.toString(), sub.messages[0]!.qos], ['two', 2]);
  });

  for (const clean of [true, false]) {
    test(`QoS 2 inbound is delivered exactly once (clean=${clean}): a re-send before PUBREL is not delivered again`, async (t) => {
      // [MQTT-4.3.3-2] until PUBREL, a PUBLISH with the same id gets PUBREC and no new delivery;
      // after PUBCOMP, the id carries a new publication.
      const h = await harness(t);
      const sub = await h.subscriber({ 'once/x': 2 });
      const raw = await h.connectRaw({ clientId: `once-${clean}`, clean });
      const first = { cmd: 'publish', topic: 'once/x', payload: Buffer.from('first'), qos: 2, dup: false, retain: false, messageId: 5 } as const;
      raw.send(first);
      assert.equal((await raw.next('pubrec')).messageId, 5);
      raw.send({ ...first, dup: true });
      assert.equal((await raw.next('pubrec')).messageId, 5);
      raw.send({ cmd: 'pubrel', messageId: 5 });
      assert.equal((await raw.next('pubcomp')).messageId, 5);
      raw.send({ ...first, payload: Buffer.from('second') });
      assert.equal((await raw.next('pubrec')).messageId, 5);
      raw.send({ cmd: 'pubrel', messageId: 5 });
      await raw.next('pubcomp');
      await flush(sub, h.server);
      assert.deepEqual(payloads(sub), ['first', 'second']);
    });
  }

  test('QoS 1 outbound: PUBLISH with a non-zero id, PUBACK ends it with a delivered event', async (t) => {
    // [MQTT-4.3.2-1] [MQTT-2.3.1-1]
    const h = await harness(t);
    const raw = await h.connectRaw({ clientId: 'raw-sub-1' });
    assert.deepEqual(await raw.subscribe([{ topic: 'out/1', qos: 1 }]), [1]);
    const delivered: [IPublishPacket, string][] = [];
    h.server.on('delivered', (packet, client) => delivered.push([packet, client.id]));
    await h.server.publish({ topic: 'out/1', payload: 'p', qos: 1 });
    const publishPacket = await raw.next('publish');
    assert.equal(publishPacket.qos, 1);
    assert.equal(publishPacket.dup, false);
    assert.notEqual(publishPacket.messageId, 0);
    assert.ok(publishPacket.messageId! > 0);
    await raw.ping();
    assert.equal(delivered.length, 0, 'not delivered before PUBACK');
    raw.send({ cmd: 'puback', messageId: publishPacket.messageId! });
    await waitFor(() => delivered.length === 1, 'the delivered event');
    assert.equal(delivered[0]![1], 'raw-sub-1');
    assert.equal(delivered[0]![0].topic, 'out/1');
  });

  test('QoS 2 outbound: PUBLISH, PUBREC → PUBREL, PUBCOMP → delivered event, no PUBLISH re-sent', async (t) => {
    // [MQTT-4.3.3-1]
    const h = await harness(t);
    const raw = await h.connectRaw({ clientId: 'raw-sub-2' });
    assert.deepEqual(await raw.subscribe([{ topic: 'out/2', qos: 2 }]), [2]);
    const delivered: IPublishPacket[] = [];
    h.server.on('delivered', (packet) => delivered.push(packet));
    await h.server.publish({ topic: 'out/2', payload: 'exactly once', qos: 2 });
    const publishPacket = await raw.next('publish');
    assert.equal(publishPacket.qos, 2);
    assert.equal(publishPacket.dup, false);
    assert.equal(publishPacket.payload.toString(), 'exactly once');
    const id = publishPacket.messageId!;
    assert.notEqual(id, 0);
    raw.send({ cmd: 'pubrec', messageId: id });
    assert.equal((await raw.next('pubrel')).messageId, id);
    await raw.ping();
    assert.equal(delivered.length, 0, 'not delivered before PUBCOMP');
    raw.send({ cmd: 'pubcomp', messageId: id });
    await waitFor(() => delivered.length === 1, 'the delivered event');
    assert.equal(delivered[0]!.payload.toString(), 'exactly once');
    await raw.ping();
    assert.deepEqual(raw.pending('publish'), [], 'the PUBLISH is not sent again');
  });

  test('packet ids of unacknowledged messages are non-zero and unique', async (t) => {
    // [MQTT-2.3.1-1] [MQTT-2.3.1-2]
    const h = await harness(t);
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'ids/#', qos: 2 }]);
    for (let i = 0; i < 100; i++) await h.server.publish({ topic: `ids/${i}`, payload: String(i), qos: i % 2 === 0 ? 1 : 2 });
    await waitFor(() => raw.pending('publish').length === 100, '100 PUBLISH packets');
    const ids = raw.pending('publish').map((p) => p.messageId!);
    assert.ok(ids.every((id) => id > 0 && id <= 65535), 'ids in 1..65535');
    assert.equal(new Set(ids).size, 100, 'no id reused while in flight');
  });

  test('packet ids wrap from 65535 to 1, never 0, skipping an id still in flight', async (t) => {
    // [MQTT-2.3.1-1] [MQTT-2.3.1-2]
    const h = await harness(t);
    const raw = await h.connectRaw();
    await raw.subscribe([{ topic: 'wrap', qos: 1 }]);
    const ids: number[] = [];
    // Every message is acknowledged as it arrives, except the first: its id stays in flight.
    raw.socket.on('data', () => {
      for (const packet of raw.packets.splice(0)) {
        if (packet.cmd !== 'publish') continue;
        ids.push(packet.messageId!);
        if (ids.length > 1) raw.send({ cmd: 'puback', messageId: packet.messageId! });
      }
    });
    const total = 65537;
    // In batches, so the subscriber's queue (maxQueuedMessages) never overflows.
    for (let sent = 0; sent < total; ) {
      const batch = Math.min(2000, total - sent);
      for (let i = 0; i < batch; i++) void h.server.publish({ topic: 'wrap', payload: '', qos: 1 });
      sent += batch;
      await waitFor(() => ids.length === sent, `${sent} PUBLISH packets`);
    }
    assert.equal(ids[0], 1);
    assert.equal(ids[65534], 65535);
    assert.ok(!ids.includes(0), 'id 0 never used');
    // After 65535 the counter wraps; 1 is still unacknowledged, so the next free id is 2.
    assert.deepEqual(ids.slice(65535), [2, 3]);
  });
});
