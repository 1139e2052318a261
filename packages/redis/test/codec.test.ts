import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { QoS } from '@skynet-mqtt/core';
import { decodeMessage, decodeOutgoing, decodeQueued, encodeMessage, encodeOutgoing, encodeQueued } from '../src/codec.js';

describe('codec', () => {
  test('messages round-trip with every qos and retain, byte-exact', () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const qos of [0, 1, 2] as QoS[]) {
      for (const retain of [false, true]) {
        const message = { topic: 'a/ü/$x', payload, qos, retain };
        assert.deepEqual(decodeMessage(encodeMessage(message)), message);
      }
    }
    assert.deepEqual(decodeMessage(encodeMessage({ topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false })).payload, Buffer.alloc(0));
  });

  test('outgoing packets keep messageId and released', () => {
    const packet = { topic: 'o', payload: Buffer.from('x'), qos: 2 as const, retain: false, messageId: 65535, released: true };
    assert.deepEqual(decodeOutgoing(encodeOutgoing(packet)), packet);
    const { released: _r, ...unreleased } = packet;
    assert.deepEqual(decodeOutgoing(encodeOutgoing(unreleased)), unreleased);
  });

  test('queued entries carry their expiry', () => {
    const message = { topic: 'q', payload: Buffer.from('m'), qos: 1 as const, retain: false };
    assert.deepEqual(decodeQueued(encodeQueued(message, 1_700_000_000_123)), { message, expiresAt: 1_700_000_000_123 });
  });

  test('garbage is refused, not misread', () => {
    assert.throws(() => decodeMessage(Buffer.from('{"topic":"x"}')), /not a Skynet MQTT message/);
  });
});
