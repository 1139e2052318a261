import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '@skynet-mqtt/core';
import { decodeMessage, decodeOutgoing, decodeQueued, encodeMessage, encodeOutgoing, encodeQueued } from '../src/codec.js';

describe('codec', () => {
  test('messages round-trip with every qos and retain, byte-exact', () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const qos of [0, 1, 2] as QoS[]) {
      for (const retain of [false, true]) {
        const message = { id: 'broker-1a2b3c4d-7f', topic: 'a/ü/$x', payload, qos, retain };
        assert.deepEqual(decodeMessage(encodeMessage(message)), message);
      }
    }
    assert.deepEqual(decodeMessage(encodeMessage({ id: 'x', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false })).payload, Buffer.alloc(0));
  });

  test('message ids round-trip, long and non-ASCII ones too; a will is written without one', () => {
    for (const id of ['', 'é/ü-1', 'i'.repeat(65535)]) {
      assert.equal(decodeMessage(encodeMessage({ id, topic: 't', payload: Buffer.from('p'), qos: 1, retain: false })).id, id);
    }
    assert.throws(() => encodeMessage({ id: 'i'.repeat(65536), topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false }), /message id longer than 65535 bytes/);
    assert.equal(decodeMessage(encodeMessage({ topic: 'will', payload: Buffer.from('bye'), qos: 1, retain: true })).id, '');
  });

  test('values of version 1 (before message ids) are still read, with an empty id', () => {
    // version 1, flags qos 1 | retain, topic length 3, topic 'a/b', payload 'hi'
    const v1 = Buffer.from([1, 0b101, 0, 3, ...Buffer.from('a/b'), ...Buffer.from('hi')]);
    assert.deepEqual(decodeMessage(v1), { id: '', topic: 'a/b', payload: Buffer.from('hi'), qos: 1, retain: true });
  });

  test('outgoing packets keep their packet id (messageId), message id and released', () => {
    const packet = { id: 'm-1', topic: 'o', payload: Buffer.from('x'), qos: 2 as const, retain: false, messageId: 65535, released: true };
    assert.deepEqual(decodeOutgoing(encodeOutgoing(packet)), packet);
    const { released: _r, ...unreleased } = packet;
    assert.deepEqual(decodeOutgoing(encodeOutgoing(unreleased)), unreleased);
  });

  test('queued entries carry their expiry', () => {
    const message = { id: 'q-1', topic: 'q', payload: Buffer.from('m'), qos: 1 as const, retain: false };
    assert.deepEqual(decodeQueued(encodeQueued(message, 1_700_000_000_123)), { message, expiresAt: 1_700_000_000_123 });
  });

  test('garbage is refused, not misread', () => {
    assert.throws(() => decodeMessage(Buffer.from('{"topic":"x"}')), /not a Skynet MQTT message/);
  });
});
