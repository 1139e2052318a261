import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError } from '@skynet-mqtt/core';
import { decodeFrames, decodeHello, encodeHello, encodeMarker, encodeMessage } from '../src/codec.js';
import { resolveOptions } from '../src/options.js';

describe('ZeroMQ frames', () => {
  test('a message round-trips: topic with spaces, every byte value, qos and retain', () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const [qos, retain] of [[0, false], [1, true], [2, false]] as const) {
      const message = { id: 'test-id', topic: 'a b/ü/#?', payload, qos, retain };
      assert.deepEqual(decodeFrames(encodeMessage(message)), { kind: 'message', message });
    }
  });

  test('MQTT 5 properties and the expiry time travel in frames of their own', () => {
    const message = { id: 'test-id', topic: 't', payload: Buffer.from('x'), qos: 1 as const, retain: false, properties: { responseTopic: 'r', userProperties: [['k', 'v']] as [string, string][] }, expiresAt: 4_102_444_800_123 };
    const frames = encodeMessage(message);
    assert.equal(frames.length, 6);
    assert.deepEqual(decodeFrames(frames), { kind: 'message', message });
  });

  test('a marker round-trips', () => {
    assert.deepEqual(decodeFrames(encodeMarker('id1', 'tok')), { kind: 'marker', requester: 'id1', token: 'tok' });
  });

  test("frames no Skynet broker wrote (Mosca's 'topic message' string) are refused", () => {
    assert.throws(() => decodeFrames([Buffer.from('a/b hello')]), /unknown frames/);
    assert.throws(() => decodeFrames([Buffer.from([0x6d, 3]), Buffer.from('t'), Buffer.alloc(0), Buffer.from('id')]), /invalid QoS/);
  });

  test('hellos round-trip; malformed ones are refused', () => {
    const hello = { id: 'i', pub: 'tcp://h:1', control: 'tcp://h:2', peers: ['tcp://h:3'], joined: ['j'], mark: 'm' };
    assert.deepEqual(decodeHello(encodeHello(hello)), hello);
    assert.throws(() => decodeHello(Buffer.from('{"id":"i"}')), /not a Skynet MQTT hello/);
    assert.throws(() => decodeHello(Buffer.from('not json')));
  });
});

describe('ZeroMQ options', () => {
  const base = { port: 'tcp://127.0.0.1:33333', controlPort: 'tcp://127.0.0.1:33334' };

  test("Mosca's shape; itself in remotePorts is skipped; Mosca's delay and zmq are accepted", () => {
    const r = resolveOptions({ ...base, remotePorts: ['tcp://10.0.0.2:33334', base.controlPort], delay: 5, zmq: {} });
    assert.deepEqual(r.remotePorts, ['tcp://10.0.0.2:33334']);
    assert.equal(r.heartbeatInterval, 1000);
    assert.equal(r.highWaterMark, 100_000);
  });

  const errors: [Record<string, unknown>, RegExp][] = [
    [{ controlPort: base.controlPort }, /option port is required/],
    [{ ...base, port: 33333 }, /option port must be an address such as "tcp:\/\/127\.0\.0\.1:33333"/],
    [{ ...base, controlPort: base.port }, /must be different/],
    [{ ...base, remotePorts: 'tcp://x:1' }, /option remotePorts must be an array/],
    [{ ...base, remotPorts: [] }, /unknown option remotPorts/],
    [{ ...base, highWaterMark: 0 }, /option highWaterMark must be an integer/],
  ];
  for (const [options, message] of errors) {
    test(`refused with a message naming the key: ${JSON.stringify(options).slice(0, 70)}`, () => {
      assert.throws(() => resolveOptions(options), (e: Error) => e instanceof ConfigurationError && message.test(e.message) && e.message.startsWith('ZeroMQ backend: '));
    });
  }
});
