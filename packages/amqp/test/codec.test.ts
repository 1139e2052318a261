import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { topicMatches } from '@skynet-mqtt/core';
import { bindingKey, decodeMessage, encodeMessage, LONG_TOPIC_KEY, routingKey, topicOf } from '../src/codec.js';

/** RabbitMQ's topic matching, for checking the mapping: `*` one word, `#` zero or more. */
function amqpMatches(binding: string, key: string): boolean {
  const b = binding.split('.');
  const k = key.split('.');
  const at = (i: number, j: number): boolean => {
    if (i === b.length) return j === k.length;
    if (b[i] === '#') return at(i + 1, j) || (j < k.length && at(i, j + 1));
    if (j === k.length) return false;
    return (b[i] === '*' || b[i] === k[j]) && at(i + 1, j + 1);
  };
  return at(0, 0);
}

describe('routing keys', () => {
  test('levels become words, and back', () => {
    assert.equal(routingKey('a/b/c'), 'a.b.c');
    assert.equal(topicOf('a.b.c'), 'a/b/c');
  });

  test('every topic round-trips: dots, stars, hashes, percent signs, empty levels, unicode, spaces', () => {
    const topics = ['a.b/c', '*', 'a/*/b', 'x#y', '100%', '%2E', '%', '/', '//', 'a//b', '/a/', '', 'ü/日本 語', '$SYS/broker/x', 'a b/c'];
    for (const topic of topics) assert.equal(topicOf(routingKey(topic)), topic, JSON.stringify(topic));
  });

  test('distinct topics get distinct keys', () => {
    const keys = ['a.b', 'a/b', 'a/', 'a', '/a', 'a/%', 'a/%25', 'a/*', 'a/+'].map(routingKey);
    assert.equal(new Set(keys).size, keys.length);
  });

  test('a topic whose key exceeds 255 bytes is sent with the reserved key; the reserved key is no topic\'s', () => {
    assert.equal(routingKey('x'.repeat(256)), LONG_TOPIC_KEY);
    assert.equal(routingKey('x'.repeat(255)), 'x'.repeat(255));
    assert.equal(routingKey('é'.repeat(128)), LONG_TOPIC_KEY, 'bytes are counted, not characters');
    assert.notEqual(routingKey('%long'), LONG_TOPIC_KEY);
  });
});

describe('binding keys', () => {
  test('+ and # become * and #; literal levels are encoded like topics', () => {
    assert.equal(bindingKey('a/+/c'), 'a.*.c');
    assert.equal(bindingKey('a/#'), 'a.#');
    assert.equal(bindingKey('#'), '#');
    assert.equal(bindingKey('a/*/#'), 'a.%2A.#');
  });

  test('RabbitMQ matching of the keys agrees with MQTT matching, $-topics aside (those are filtered locally)', () => {
    const filters = ['a/+', 'a/#', '#', '+/+', 'a/+/c', '+', 'a/*', '*', 'a.b', '+/b', 'a//c', 'a/+/+', '/#', '+/#'];
    const topics = ['a', 'a/b', 'a/b/c', 'a/', 'a//c', 'a/*', '*', 'a.b', 'b', '/b', '/', 'x/b', 'a/b/c/d', ''];
    for (const filter of filters) {
      for (const topic of topics) {
        assert.equal(amqpMatches(bindingKey(filter), routingKey(topic)), topicMatches(filter, topic), `${filter} vs ${JSON.stringify(topic)}`);
      }
    }
  });

  test('a binding key that would exceed 255 bytes becomes #', () => {
    assert.equal(bindingKey(`${'x'.repeat(300)}/+`), '#');
  });
});

describe('messages', () => {
  test('payload bytes, QoS, retain and the sequence number survive', () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const out = encodeMessage({ id: 'test-id', topic: 'a/b', payload, qos: 2, retain: true }, 7);
    assert.equal(out.routingKey, 'a.b');
    assert.equal(out.content, payload, 'the body is the payload itself');
    const back = decodeMessage(out.routingKey, out.content, out.headers);
    assert.deepEqual(back, { message: { id: 'test-id', topic: 'a/b', payload, qos: 2, retain: true }, sequence: 7 });
  });

  test('MQTT 5 properties survive, User Properties in order, and the expiry time', () => {
    const properties = { contentType: 'text/plain', correlationData: Buffer.from([0, 1]), userProperties: [['b', '2'], ['a', '1']] as [string, string][] };
    const out = encodeMessage({ id: 'test-id', topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, properties, expiresAt: 4_102_444_800_123 }, 1);
    const back = decodeMessage(out.routingKey, out.content, out.headers).message;
    assert.deepEqual(back.properties, properties);
    assert.equal(back.expiresAt, 4_102_444_800_123);
  });

  test('a long topic travels in a header', () => {
    const topic = `${'t'.repeat(300)}/x`;
    const out = encodeMessage({ id: 'test-id', topic, payload: Buffer.alloc(0), qos: 0, retain: false }, 1);
    assert.equal(out.routingKey, LONG_TOPIC_KEY);
    assert.equal(decodeMessage(out.routingKey, out.content, out.headers).message.topic, topic);
  });

  test('a delivery no Skynet broker wrote is refused, not misread', () => {
    assert.throws(() => decodeMessage('a.b', Buffer.from('x'), undefined), /QoS header/);
    assert.throws(() => decodeMessage(LONG_TOPIC_KEY, Buffer.from('x'), { q: 0 }), /topic header/);
  });
});
