/**
 * Malformed input closes only the connection that sent it: a client connected beside it keeps
 * publishing and receiving, nothing of the bad packet is routed, and the broker keeps accepting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type mqttPacket from 'mqtt-packet';
import type { ServerOptions } from '../src/index.js';
import { roundTrip, useBroker, waitFor } from './helpers.js';
import { wire } from '@skynet-mqtt/test-support';

const { publish: publishBytes } = wire;

interface Case {
  name: string;
  /** What is sent: bytes, or a packet mqtt-packet can generate. */
  input: Buffer | mqttPacket.Packet;
  /** Sent instead of CONNECT rather than after it. */
  beforeConnect?: boolean;
  options?: ServerOptions;
}

const CASES: Case[] = [
  { name: 'an HTTP request instead of CONNECT', input: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), beforeConnect: true },
  // [MQTT-3.1.0-1] a PUBLISH header announcing 1 MB instead of CONNECT: refused at once, not buffered.
  { name: 'a large PUBLISH before CONNECT', input: Buffer.from([0x30, 0x80, 0x80, 0x40, 0x00]), beforeConnect: true },
  { name: 'garbage bytes after CONNECT', input: Buffer.from([0x00, 0xde, 0xad, 0xbe, 0xef]) }, // type 0 is reserved
  { name: 'a remaining length longer than four bytes', input: Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]) }, // [MQTT-2.2.3]
  // [MQTT-3.8.1-1] SUBSCRIBE fixed header flags must be 0010. [MQTT-2.2.2-2]
  { name: 'a SUBSCRIBE with reserved flags 0000', input: Buffer.from([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]) },
  // [MQTT-3.3.1-4] both QoS bits set.
  { name: 'a PUBLISH with QoS 3', input: publishBytes('a', { first: 0x36 }) },
  // [MQTT-3.3.2-2] no wildcards in a topic name.
  { name: "a PUBLISH to a topic with '+'", input: publishBytes('a/+/c') },
  { name: "a PUBLISH to a topic with '#'", input: publishBytes('a/#') },
  // [MQTT-4.7.3-2] [MQTT-1.5.3-2] no U+0000 in a topic.
  { name: 'a PUBLISH to a topic with U+0000', input: publishBytes('a\u0000b') },
  // [MQTT-1.5.3-1] a topic must be well-formed UTF-8.
  { name: 'a PUBLISH to a topic that is not UTF-8', input: publishBytes(Buffer.from([0x61, 0xff, 0xfe])) },
  { name: 'a PUBLISH with an empty topic', input: publishBytes('') }, // [MQTT-4.7.3-1]
  { name: 'a 4 KB PUBLISH over maxPacketSize 1024', input: publishBytes('big', { payload: Buffer.alloc(4096, 1) }), options: { maxPacketSize: 1024 } },
  { name: 'a packet only a server sends (CONNACK)', input: Buffer.from([0x20, 0x02, 0x00, 0x00]) },
];

for (const c of CASES) {
  test(`${c.name}: that connection is closed, the others keep working`, async (t) => {
    const broker = await useBroker(t, c.options);
    const bystander = await broker.connect({ clientId: 'bystander' });
    await bystander.client.subscribeAsync('#', { qos: 1 });

    const raw = await broker.raw();
    if (!c.beforeConnect) assert.equal((await raw.handshake({ clientId: 'offender' })).returnCode, 0);
    if (Buffer.isBuffer(c.input)) raw.sendBytes(c.input);
    else raw.send(c.input);
    await raw.waitClosed();

    await roundTrip(bystander);
    assert.deepEqual(bystander.messages.filter((m) => !m.topic.startsWith('roundtrip/')).map((m) => m.topic), [], 'nothing of it was routed');
    const newcomer = await broker.connect();
    await roundTrip(newcomer);
  });
}

test('a PUBLISH within maxPacketSize is accepted', async (t) => {
  const broker = await useBroker(t, { maxPacketSize: 1024 });
  const subscriber = await broker.connect();
  await subscriber.client.subscribeAsync('fits', { qos: 1 });
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'modest' });
  raw.sendBytes(publishBytes('fits', { payload: Buffer.alloc(900, 1) }));
  await waitFor(() => subscriber.messages.length === 1, 'the message');
  assert.equal(subscriber.messages[0]!.payload.length, 900);
  assert.equal(raw.closed, false);
});

test('an oversized PUBLISH arriving in small pieces is refused before it is complete', async (t) => {
  const broker = await useBroker(t, { maxPacketSize: 1024 });
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'trickle' });
  const bytes = publishBytes('big', { payload: Buffer.alloc(4096, 1) });
  raw.sendBytes(bytes.subarray(0, 3)); // the fixed header announces 4 KB
  await raw.waitClosed();
});
