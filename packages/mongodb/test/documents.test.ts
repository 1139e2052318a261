import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BSON, Binary } from 'mongodb';
import { allBytes, bigPayload, message, v5Message } from '@skynet-mqtt/contract-tests';
import type { Message } from '@skynet-mqtt/core';
import { checkStorable, contentFromDocument, fromBinary, markerDocument, MAX_PAYLOAD_BYTES, messageDocument, messageFromDocument, outgoingFromDocument, pubsubDocument, readPubsub } from '../src/documents.js';

/** Through BSON and back, as a document makes the trip to MongoDB and back. */
function roundTrip<T extends object>(doc: T, options: BSON.DeserializeOptions = {}): BSON.Document {
  return BSON.deserialize(BSON.serialize(doc), options);
}

function same(actual: Message, expected: Message): void {
  assert.equal(actual.topic, expected.topic);
  assert.ok(Buffer.isBuffer(actual.payload), 'payload must be a Buffer');
  assert.ok(actual.payload.equals(expected.payload), `payload of ${expected.topic}`);
  assert.equal(actual.qos, expected.qos);
  assert.equal(actual.retain, expected.retain);
}

describe('message documents', () => {
  test('messages survive BSON byte-exact: every byte value, empty, 256 KB, every qos and retain', () => {
    const sent = [message('a/b', allBytes(), 1, true), message('e', Buffer.alloc(0), 0), message('$SYS/x/日本', bigPayload(), 2, false), message('t', 'text', 2, true)];
    for (const m of sent) {
      same(messageFromDocument(roundTrip(messageDocument(m))), m);
      same(messageFromDocument(roundTrip(messageDocument(m), { promoteBuffers: true })), m);
    }
  });

  test('MQTT 5 properties come back exactly (User Properties in order); none stays none', () => {
    for (const m of [v5Message('p', allBytes(), 1, true), v5Message('$q', '', 2)]) {
      const back = messageFromDocument(roundTrip(messageDocument(m)));
      assert.deepEqual(back.properties, m.properties);
      assert.equal(back.expiresAt, m.expiresAt, 'the expiry time too');
      same(back, m);
    }
    const plain = roundTrip(messageDocument(message('p', 'x')));
    assert.equal('props' in plain, false);
    assert.equal(messageFromDocument(plain).properties, undefined);
    assert.equal(messageFromDocument(plain).expiresAt, undefined);
    const entry = readPubsub(roundTrip(pubsubDocument('i', 1, v5Message('v', 'x'))));
    assert.ok('message' in entry);
    assert.deepEqual(entry.message.properties, v5Message('v', 'x').properties);
    assert.equal(entry.message.expiresAt, v5Message('v', 'x').expiresAt);
  });

  test("message ids are kept; one stored without an id reads as ''; a will has none", () => {
    const m = message('i', 'x', 1);
    assert.equal(messageFromDocument(roundTrip(messageDocument(m))).id, m.id);
    const { id: _, ...content } = m;
    assert.equal(messageFromDocument(roundTrip(messageDocument(content))).id, '');
    assert.equal('id' in contentFromDocument(roundTrip(messageDocument(content))), false);
    const entry = readPubsub(roundTrip(pubsubDocument('inst', 1, m)));
    assert.ok('message' in entry && entry.message.id === m.id);
  });

  test('the payload read back is a copy, not a view of the reply', () => {
    const reply = Buffer.from('xxhelloxx');
    const payload = fromBinary(new Binary(reply.subarray(2, 7)));
    assert.equal(payload.toString(), 'hello');
    reply.fill(0);
    assert.equal(payload.toString(), 'hello');
  });

  test('payloads that cannot fit in a 16 MiB document are refused with the setting to change', () => {
    assert.throws(() => checkStorable(message('big', Buffer.alloc(MAX_PAYLOAD_BYTES + 1))), /does not fit in a MongoDB document .* keep maxPacketSize below/);
    const largest = { ...message('x'.repeat(65_535), Buffer.alloc(MAX_PAYLOAD_BYTES), 2, true), messageId: 65_535 };
    const doc = { c: 'client'.repeat(100), g: '0123456789abcdef', mid: 65_535, m: messageDocument(largest), released: true, o: 2 ** 40, expiresAt: new Date() };
    assert.ok(BSON.calculateObjectSize(doc) <= 16 * 1024 * 1024, 'the largest storable message with the longest topic fits');
  });

  test('in-flight packets keep their id and released flag', () => {
    const doc = roundTrip({ mid: 7, m: messageDocument(message('o', allBytes(), 2)), released: true });
    const packet = outgoingFromDocument(doc as Parameters<typeof outgoingFromDocument>[0]);
    assert.equal(packet.messageId, 7);
    assert.equal(packet.released, true);
    same(packet, message('o', allBytes(), 2));
    assert.equal(outgoingFromDocument({ ...(doc as Parameters<typeof outgoingFromDocument>[0]), released: false }).released, undefined);
  });
});

describe('pubsub documents', () => {
  test('messages and markers round-trip with their publisher and number', () => {
    const m = message('p/q', allBytes(), 1, true);
    const entry = readPubsub(roundTrip(pubsubDocument('inst', 42, m)));
    assert.ok('message' in entry);
    assert.equal(entry.publisher, 'inst');
    assert.equal(entry.seq, 42);
    same(entry.message, m);
    assert.deepEqual(readPubsub(roundTrip(markerDocument('inst', 43, 'sync'))), { publisher: 'inst', seq: 43, marker: 'sync' });
    assert.deepEqual(readPubsub(roundTrip(markerDocument('inst', 1, 'start'))), { publisher: 'inst', seq: 1, marker: 'start' });
  });

  test("documents not written by an emitter are reported, not misread (ascoltatori's own included)", () => {
    const mosca = readPubsub(roundTrip({ topic: 'a', value: 'text', options: { qos: 1 } }));
    assert.ok('invalid' in mosca && /not written by a Skynet MQTT emitter/.test(mosca.invalid));
    const broken = readPubsub(roundTrip({ i: 'x', s: 1, value: new Binary(Buffer.from('v')) }));
    assert.ok('invalid' in broken && /without a topic/.test(broken.invalid));
  });
});
