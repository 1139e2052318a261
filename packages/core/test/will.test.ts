/**
 * The will message: published when the connection ends without DISCONNECT, with its QoS and
 * retain flag [MQTT-3.1.2-8], discarded on DISCONNECT [MQTT-3.1.2-10] [MQTT-3.14.4-3], and
 * authorized like any publish (Mosca).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../src/index.js';
import { disconnectionOf, recordEvents, roundTrip, useBroker, waitFor, type Fixture, type TestClient } from './helpers.js';

const WILL = { topic: 'wills/w1', payload: Buffer.from('bye'), qos: 1 as const, retain: false };

/** A subscriber to `wills/#` at QoS 1. */
async function willWatcher(broker: Fixture): Promise<TestClient> {
  const watcher = await broker.connect();
  await watcher.client.subscribeAsync('wills/#', { qos: 1 });
  return watcher;
}

test('the will is published with its QoS when the socket closes without DISCONNECT', async (t) => {
  const broker = await useBroker(t);
  const watcher = await willWatcher(broker);
  const dying = await broker.connect({ clientId: 'dying', will: WILL });
  const ended = disconnectionOf(broker.server, 'dying');
  dying.client.stream.destroy(); // no DISCONNECT goes out
  assert.equal(await ended, 'close');
  await waitFor(() => watcher.messages.length > 0, 'the will');
  const [will] = watcher.messages;
  assert.deepEqual({ topic: will!.topic, payload: will!.payload.toString(), qos: will!.qos }, { topic: 'wills/w1', payload: 'bye', qos: 1 });
  assert.equal(watcher.messages.length, 1);
});

test('a retained will is stored as retained and sent to a later subscriber', async (t) => {
  const broker = await useBroker(t);
  const watcher = await willWatcher(broker);
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'retainer', will: { topic: 'wills/kept', payload: Buffer.from('kept'), qos: 0, retain: true } });
  raw.close();
  await waitFor(() => watcher.messages.length > 0, 'the live will');
  // [MQTT-3.3.1-9] a live delivery has RETAIN cleared, the stored copy keeps it.
  assert.equal(watcher.messages[0]!.retain, false);

  const later = await broker.connect();
  await later.client.subscribeAsync('wills/kept', { qos: 1 });
  await waitFor(() => later.messages.length > 0, 'the retained will');
  assert.equal(later.messages[0]!.payload.toString(), 'kept');
  assert.equal(later.messages[0]!.retain, true); // [MQTT-3.3.1-8]
});

test('the will is discarded on DISCONNECT', async (t) => {
  const broker = await useBroker(t);
  const watcher = await willWatcher(broker);
  const polite = await broker.connect({ clientId: 'polite', will: WILL });
  const ended = disconnectionOf(broker.server, 'polite');
  await polite.end(); // sends DISCONNECT
  assert.equal(await ended, 'disconnect request');
  await roundTrip(watcher); // anything routed to the watcher before has arrived
  assert.deepEqual(watcher.messages.filter((m) => m.topic.startsWith('wills/')), []); // [MQTT-3.14.4-3]
});

test('the will is not published when the server closes', async (t) => {
  const broker = await useBroker(t);
  const published: string[] = [];
  broker.server.on('published', (message: Message) => published.push(message.topic));
  await broker.connect({ clientId: 'bystander', will: WILL });
  const ended = disconnectionOf(broker.server, 'bystander');
  await broker.close();
  assert.equal(await ended, 'server closed');
  assert.deepEqual(published.filter((topic) => topic.startsWith('wills/')), []);
});

test('the will goes through authorizePublish, which may refuse it', async (t) => {
  const broker = await useBroker(t);
  const watcher = await willWatcher(broker);
  const asked: unknown[][] = [];
  broker.server.authorizePublish = (client, topic, payload, callback) => {
    asked.push([client.id, topic, payload.toString()]);
    callback(null, client.id !== 'censored');
  };
  const events = recordEvents(broker.server, ['published']);
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'censored', will: WILL });
  const ended = disconnectionOf(broker.server, 'censored');
  raw.close();
  await ended;
  assert.deepEqual(asked, [['censored', 'wills/w1', 'bye']]);
  await roundTrip(watcher);
  assert.deepEqual(watcher.messages.filter((m) => m.topic.startsWith('wills/')), []);
  assert.deepEqual(events.filter((e) => (e.args[0] as Message).topic.startsWith('wills/')), []);
});

test('authorizePublish may replace the will payload', async (t) => {
  const broker = await useBroker(t);
  const watcher = await willWatcher(broker);
  broker.server.authorizePublish = (_client, _topic, _payload, callback) => callback(null, Buffer.from('rewritten'));
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'rewritten', will: WILL });
  raw.close();
  await waitFor(() => watcher.messages.length > 0, 'the will');
  assert.equal(watcher.messages[0]!.payload.toString(), 'rewritten');
});

test('a will topic with a wildcard closes the connection', async (t) => {
  const broker = await useBroker(t);
  const connected = recordEvents(broker.server, ['clientConnected']);
  const raw = await broker.raw();
  // [MQTT-3.1.2-9] the will topic must be a valid topic name; [MQTT-4.7.1-1] no wildcards in one.
  raw.send({
    cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'bad-will',
    will: { topic: 'wills/+', payload: Buffer.from('x'), qos: 0, retain: false },
  });
  await raw.waitClosed();
  assert.deepEqual(raw.packets, [], 'no CONNACK');
  assert.deepEqual(connected, []);
});
