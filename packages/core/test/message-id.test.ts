/**
 * Mosca's `messageId` (issue 9, item 6): every message that enters a broker gets an id, unique
 * per broker and across restarts, shown as `messageId` on `server.publish()` packets and on
 * `published` events, and kept by every copy of the message (Emitter, Store, hooks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message, PublishedMessage } from '../src/index.js';
import { harness, recordEvents, startBroker, useBroker, waitFor } from './helpers.js';

test('server.publish(): the packet given to the callback and the promise carries messageId, the same as id', async (t) => {
  const h = await harness(t);
  const fromPromise = await h.server.publish({ topic: 'ids/a', payload: 'a' });
  const fromCallback = await new Promise<PublishedMessage>((resolve, reject) =>
    void h.server.publish({ topic: 'ids/b', payload: 'b' }, (error, packet) => (error ? reject(error) : resolve(packet!))),
  );
  for (const packet of [fromPromise, fromCallback]) {
    assert.equal(typeof packet.messageId, 'string');
    assert.equal(packet.messageId, packet.id);
    assert.ok(packet.messageId.startsWith(`${h.server.id}-`), `the broker id leads ${packet.messageId}`);
  }
  assert.notEqual(fromPromise.messageId, fromCallback.messageId);
});

test('published events carry a distinct messageId for client publishes, host publishes and wills', async (t) => {
  const h = await harness(t, { publishNewClient: false, publishClientDisconnect: false });
  const events = recordEvents(h.server, ['published']);
  const hooked: string[] = [];
  h.server.published = (packet, _client, done) => {
    hooked.push(packet.messageId);
    done(null);
  };
  const dying = await h.connect({ clientId: 'dying', will: { topic: 'ids/will', payload: Buffer.from('bye'), qos: 1, retain: false } });
  const publisher = await h.connect({ clientId: 'ids-pub' });
  await publisher.client.publishAsync('ids/client', 'c0', { qos: 0 });
  await publisher.client.publishAsync('ids/client', 'c1', { qos: 1 });
  await publisher.client.publishAsync('ids/client', 'c2', { qos: 2 });
  await h.server.publish({ topic: 'ids/host', payload: 'h' });
  dying.client.stream.destroy(); // no DISCONNECT: the will is published
  await waitFor(() => events.length === 5, 'five published events');

  const packets = events.map((e) => e.args[0] as PublishedMessage);
  assert.deepEqual(packets.map((p) => p.topic).sort(), ['ids/client', 'ids/client', 'ids/client', 'ids/host', 'ids/will']);
  for (const p of packets) assert.equal(p.messageId, p.id);
  assert.equal(new Set(packets.map((p) => p.messageId)).size, 5, 'each publication has its own id');
  assert.deepEqual(hooked, packets.map((p) => p.messageId), 'the published hook sees the same packets');
});

test('the id travels with the message: authorizeForward and server.subscribe see the publisher\'s id', async (t) => {
  const h = await harness(t);
  const forwarded: Message[] = [];
  h.server.authorizeForward = (_client, packet, done) => {
    forwarded.push(packet);
    done(null, true);
  };
  const raw: string[] = [];
  await h.server.subscribe('ids/travel', (_topic, _payload, options) => raw.push(options.messageId));
  const events = recordEvents(h.server, ['published']);
  const subscriber = await h.subscriber({ 'ids/travel': 1 });
  const publisher = await h.connect();
  await publisher.client.publishAsync('ids/travel', 'x', { qos: 1 });
  await waitFor(() => subscriber.messages.length === 1 && raw.length === 1, 'the message on both paths');
  const published = events.map((e) => e.args[0] as PublishedMessage).find((p) => p.topic === 'ids/travel')!;
  assert.deepEqual(raw, [published.messageId]);
  assert.deepEqual(forwarded.map((m) => m.id), [published.messageId]);
});

test('two brokers with the same configured id, as after a restart, never give the same id', async () => {
  const first = await startBroker({ id: 'fixed' });
  const second = await startBroker({ id: 'fixed' });
  try {
    const a = await first.server.publish({ topic: 'ids/r', payload: '' });
    const b = await second.server.publish({ topic: 'ids/r', payload: '' });
    assert.ok(a.messageId.startsWith('fixed-') && b.messageId.startsWith('fixed-'));
    assert.notEqual(a.messageId, b.messageId);
  } finally {
    await first.close();
    await second.close();
  }
});

test('a durable subscriber\'s queued copy keeps the id of the published message', async (t) => {
  const broker = await useBroker(t);
  const queued: string[] = [];
  const sub = await broker.connect({ clientId: 'ids-durable', clean: false });
  await sub.client.subscribeAsync('ids/q', { qos: 1 });
  await sub.end();
  await waitFor(() => broker.server.clients['ids-durable'] === undefined, 'the session to go offline');
  const published = await broker.server.publish({ topic: 'ids/q', payload: 'later', qos: 1 });
  for (const q of await broker.server.store.peekQueue('ids-durable', 10)) queued.push(q.message.id);
  assert.deepEqual(queued, [published.messageId]);
});

test('a retained message sent on SUBSCRIBE gets an id of its own each time', async (t) => {
  const h = await harness(t);
  const published = await h.server.publish({ topic: 'ids/retained', payload: 'kept', qos: 1, retain: true });
  const forwarded: string[] = [];
  h.server.authorizeForward = (_client, packet, done) => {
    forwarded.push(packet.id);
    done(null, true);
  };
  const subscriber = await h.connect({ clientId: 'ids-ret', clean: false });
  await subscriber.client.subscribeAsync('ids/retained', { qos: 1 });
  await subscriber.client.subscribeAsync('ids/retained', { qos: 1 }); // [MQTT-3.8.4-3] sent again
  await waitFor(() => subscriber.messages.length === 2, 'the retained message twice');
  assert.equal(forwarded.length, 2);
  assert.equal(new Set([published.messageId, ...forwarded]).size, 3);
});
