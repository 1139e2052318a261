/**
 * The delivery and parsing fast paths: a QoS 0 encoding shared by every subscriber, batched
 * writes, PacketReader's own framing, and backpressure. Each must behave exactly like the slow
 * path it replaces.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { harness, waitFor } from './helpers.js';

test('one message to subscribers at QoS 0, 1 and 2: each packet carries only its own QoS, id and flags', async (t) => {
  const h = await harness(t);
  const [q0a, q0b, q1a, q1b, q2] = await Promise.all([0, 0, 1, 1, 2].map(() => h.connectRaw()));
  for (const [raw, qos] of [[q0a, 0], [q0b, 0], [q1a, 1], [q1b, 1], [q2, 2]] as const) {
    assert.deepEqual(await raw!.subscribe([{ topic: 'shared/+', qos }]), [qos]);
  }
  // Give the QoS 1 subscribers different packet id histories, so a shared buffer would show.
  await h.server.publish({ topic: 'shared/warm', payload: 'w', qos: 1 });
  await q1a!.next('publish');
  for (const raw of [q0a, q0b, q1b, q2]) await raw!.next('publish');
  await h.server.publish({ topic: 'shared/x', payload: 'same bytes?', qos: 2 });
  const got = await Promise.all([q0a, q0b, q1a, q1b, q2].map((raw) => raw!.next('publish')));
  assert.deepEqual(got.map((p) => p.qos), [0, 0, 1, 1, 2]);
  assert.deepEqual(got.map((p) => p.retain), [false, false, false, false, false]);
  assert.deepEqual(got.map((p) => p.payload.toString()), Array(5).fill('same bytes?'));
  assert.equal(got[0]!.messageId, undefined);
  assert.equal(got[1]!.messageId, undefined);
  for (const p of got.slice(2)) assert.ok(p.messageId! > 0);
});

test('a retained QoS 0 message goes out with RETAIN=1 to a new subscriber and RETAIN=0 to existing ones', async (t) => {
  const h = await harness(t);
  const existing = await h.connectRaw();
  await existing.subscribe([{ topic: 'r/0', qos: 0 }]);
  await h.server.publish({ topic: 'r/0', payload: 'kept', qos: 0, retain: true });
  const live = await existing.next('publish');
  const late = await h.connectRaw();
  await late.subscribe([{ topic: 'r/0', qos: 0 }]);
  const replay = await late.next('publish');
  assert.equal(live.retain, false); // [MQTT-3.3.1-9]
  assert.equal(replay.retain, true); // [MQTT-3.3.1-8]
  // The message published live afterwards shares no state with the retained replay.
  await h.server.publish({ topic: 'r/0', payload: 'next', qos: 0 });
  assert.equal((await late.next('publish')).retain, false);
});

test('packets split byte by byte, and a thousand packets in one write, are read alike', async (t) => {
  const h = await harness(t);
  const sub = await h.connectRaw();
  await sub.subscribe([{ topic: 'frame/#', qos: 1 }]);
  const raw = await h.raw();
  const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'dribble' });
  const publish = mqttPacket.generate({ cmd: 'publish', topic: 'frame/one', payload: Buffer.alloc(300, 7), qos: 1, messageId: 9, retain: false, dup: false });
  for (const byte of Buffer.concat([connect, publish])) {
    raw.sendBytes([byte]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal((await raw.next('puback')).messageId, 9);
  assert.equal((await sub.next('publish')).payload.length, 300);

  const burst = Buffer.concat(
    Array.from({ length: 1000 }, (_, i) =>
      mqttPacket.generate({ cmd: 'publish', topic: `frame/${i}`, payload: String(i), qos: 1, messageId: i + 1, retain: false, dup: false }),
    ),
  );
  raw.sendBytes(burst);
  await waitFor(() => raw.pending('puback').length === 1000 && sub.pending('publish').length === 1000, '1000 acks and deliveries');
  assert.deepEqual(sub.pending('publish').map((p) => p.payload.toString()), Array.from({ length: 1000 }, (_, i) => String(i)));
});

test('a subscriber that stops reading does not slow unrelated clients, and the broker does not buffer without bound', async (t) => {
  const h = await harness(t, { maxQueuedMessages: 1000 });
  const stuck = await h.connectRaw({ clientId: 'stuck' });
  await stuck.subscribe([{ topic: 'flood', qos: 0 }]);
  stuck.socket.pause(); // reads nothing more: its socket backs up
  const flooder = await h.connectRaw();
  const payload = Buffer.alloc(1024, 1);
  const frame = mqttPacket.generate({ cmd: 'publish', topic: 'flood', payload, qos: 0, retain: false, dup: false });
  // 20 MB offered; the stuck subscriber's socket takes only so much.
  const burst = Buffer.concat(Array.from({ length: 1000 }, () => frame));
  for (let i = 0; i < 20; i++) flooder.sendBytes(burst);

  const other = await h.subscriber({ calm: 1 });
  const talker = await h.connect();
  const started = Date.now();
  for (let i = 0; i < 20; i++) await talker.client.publishAsync('calm', String(i), { qos: 1 });
  await waitFor(() => other.messages.length === 20, 'the unrelated subscriber to get its messages');
  assert.ok(Date.now() - started < 4000, 'unrelated traffic kept flowing');
  // What the stuck client cannot take waits in a bounded queue or is dropped and counted.
  const waiting = h.server.clients['stuck']!.outbound.waitingCount;
  assert.ok(waiting > 0 && waiting <= 1000, `${waiting} messages wait for the stuck client, at most maxQueuedMessages`);
});
