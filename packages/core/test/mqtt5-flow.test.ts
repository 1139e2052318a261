/**
 * MQTT 5 flow control: Receive Maximum both ways, Maximum Packet Size of the client, Topic Aliases
 * from the broker to clients.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { harness, sleep, useBroker, waitFor } from './helpers.js';

describe('MQTT 5 Receive Maximum', () => {
  test("the broker never has more QoS 1/2 messages in flight to a client than its Receive Maximum [MQTT-3.3.4-9]", async (t) => {
    const broker = await harness(t);
    const raw = await broker.raw(5);
    await raw.handshake({ properties: { receiveMaximum: 2 } });
    await raw.subscribe([{ topic: 'rm/#', qos: 2 }]);
    for (let i = 0; i < 5; i++) await broker.server.publish({ topic: `rm/${i}`, payload: String(i), qos: (1 + (i % 2)) as 1 | 2 });
    await waitFor(() => raw.pending('publish').length === 2, 'two messages');
    await sleep(200);
    assert.equal(raw.pending('publish').length, 2, 'no more until one is acknowledged');
    const first = await raw.next('publish');
    raw.send({ cmd: 'puback', messageId: first.messageId! }); // rm/0, QoS 1
    await waitFor(() => raw.pending('publish').length === 2, 'the third after an ack');
    const second = await raw.next('publish');
    assert.equal(second.topic, 'rm/1');
    // QoS 2: PUBREC does not free the slot; PUBCOMP does.
    raw.send({ cmd: 'pubrec', messageId: second.messageId! });
    await raw.next('pubrel');
    await sleep(100);
    assert.equal(raw.pending('publish').length, 1);
    raw.send({ cmd: 'pubcomp', messageId: second.messageId! });
    await waitFor(() => raw.pending('publish').length === 2, 'the fourth after PUBCOMP');
    assert.deepEqual(raw.pending('publish').map((p) => p.topic), ['rm/2', 'rm/3']);
  });

  test('a client exceeding the broker\'s Receive Maximum gets DISCONNECT 0x93 [MQTT-3.3.4-7]', async (t) => {
    const broker = await useBroker(t, { receiveMaximum: 2 });
    const raw = await broker.raw(5);
    const connack = await raw.handshake();
    assert.equal(connack.properties?.receiveMaximum, 2);
    for (const messageId of [1, 2]) {
      raw.send({ cmd: 'publish', topic: 'in', payload: Buffer.from('x'), qos: 2, messageId, retain: false, dup: false });
      await raw.next('pubrec');
    }
    // A re-send of an unreleased id is no new message: still within the quota.
    raw.send({ cmd: 'publish', topic: 'in', payload: Buffer.from('x'), qos: 2, messageId: 2, retain: false, dup: true });
    await raw.next('pubrec');
    // Releasing one makes room for another.
    raw.send({ cmd: 'pubrel', messageId: 1 });
    await raw.next('pubcomp');
    raw.send({ cmd: 'publish', topic: 'in', payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false });
    await raw.next('puback');
    for (const messageId of [4, 5]) raw.send({ cmd: 'publish', topic: 'in', payload: Buffer.from('x'), qos: 2, messageId, retain: false, dup: false });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x93);
    await raw.waitClosed();
  });
});

describe('MQTT 5 Maximum Packet Size of the client', () => {
  test('a message too large for a subscriber is dropped for it alone, at QoS 0 and 1 [MQTT-3.1.2-24] [MQTT-3.1.2-25]', async (t) => {
    const broker = await harness(t);
    const small = await broker.raw(5);
    await small.handshake({ properties: { maximumPacketSize: 64 } });
    await small.subscribe([{ topic: 'size/#', qos: 1 }]);
    const other = await broker.subscriber({ 'size/#': 1 });
    for (const [qos, payload] of [[0, 'a'], [1, 'x'.repeat(100)], [0, 'y'.repeat(100)], [1, 'b']] as const) {
      await broker.server.publish({ topic: 'size/t', payload, qos });
    }
    await waitFor(() => other.messages.length === 4, 'all four for the other subscriber');
    await waitFor(() => small.pending('publish').length === 2, 'the two small ones');
    await small.ping();
    const received = small.pending('publish');
    assert.deepEqual(received.map((p) => p.payload.toString()), ['a', 'b']);
    assert.ok(Buffer.concat(small.received).length < 64 * 6, 'nothing large was written to it');
    assert.equal(broker.server.stats.droppedBy.packetTooLarge, 2);
    // The QoS 1 message after the dropped one is in flight as usual.
    small.send({ cmd: 'puback', messageId: received[1]!.messageId! });
    await small.ping();
  });

  test('an acknowledgement leaves out its Reason String rather than exceed the size', async (t) => {
    const broker = await harness(t);
    broker.server.authorizePublish = (_client, _topic, _payload, callback) => callback(null, false);
    const raw = await broker.raw(5);
    await raw.handshake({ properties: { maximumPacketSize: 16 } });
    raw.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 9, retain: false, dup: false });
    const puback = await raw.next('puback');
    assert.equal(puback.reasonCode, 0x87);
    assert.equal(puback.properties?.reasonString, undefined);
  });
});

describe('MQTT 5 Topic Aliases from the broker', () => {
  test('new topics get aliases up to the client\'s maximum, known ones go as the alias alone, the least recently used is reused [MQTT-3.1.2-26]', async (t) => {
    const broker = await harness(t);
    const raw = await broker.raw(5);
    await raw.handshake({ properties: { topicAliasMaximum: 2 } });
    await raw.subscribe([{ topic: 'al/#', qos: 0 }]);
    for (const topic of ['al/a', 'al/b', 'al/a', 'al/c', 'al/a', 'al/b']) await broker.server.publish({ topic, payload: topic, qos: 0 });
    await waitFor(() => raw.pending('publish').length === 6, 'six messages');
    const wire = raw.pending('publish').map((p) => [p.topic, p.properties?.topicAlias, p.payload.toString()]);
    assert.deepEqual(wire, [
      ['al/a', 1, 'al/a'],
      ['al/b', 2, 'al/b'],
      ['', 1, 'al/a'],
      ['al/c', 2, 'al/c'], // al/b was the least recently used
      ['', 1, 'al/a'],
      ['al/b', 2, 'al/b'], // al/c was
    ]);
  });

  test('mqtt.js resolves them; a client that allows none gets none [MQTT-3.1.2-27]', async (t) => {
    const broker = await harness(t);
    const aliased = await broker.subscriber({ 'al2/#': 1 }, { protocolVersion: 5, properties: { topicAliasMaximum: 5 } });
    const plain = await broker.raw(5);
    await plain.handshake();
    await plain.subscribe([{ topic: 'al2/#', qos: 1 }]);
    for (let i = 0; i < 6; i++) await broker.server.publish({ topic: `al2/${i % 3}`, payload: String(i), qos: 1 });
    await waitFor(() => aliased.messages.length === 6, 'six messages');
    assert.deepEqual(aliased.messages.map((m) => m.topic), ['al2/0', 'al2/1', 'al2/2', 'al2/0', 'al2/1', 'al2/2']);
    await waitFor(() => plain.pending('publish').length === 6, 'six raw messages');
    assert.ok(plain.pending('publish').every((p) => p.properties?.topicAlias === undefined && p.topic.startsWith('al2/')));
  });
});
