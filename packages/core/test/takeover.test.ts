/**
 * A second connection with a client id already connected takes the session over. [MQTT-3.1.4-2]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../src/index.js';
import { recordEvents, roundTrip, useBroker, waitFor } from './helpers.js';

test('the old connection is closed with reason "new connection request", and its will is published [MQTT-3.1.2-8]', async (t) => {
  const broker = await useBroker(t);
  const events = recordEvents(broker.server, ['clientConnected', 'clientDisconnected']);
  const watcher = await broker.connect();
  await watcher.client.subscribeAsync('last/words', { qos: 1 });

  const old = await broker.connect({ clientId: 'twin', will: { topic: 'last/words', payload: Buffer.from('old'), qos: 1, retain: false } });
  let oldClosed = false;
  old.client.on('close', () => (oldClosed = true));
  await waitFor(() => events.filter((e) => e.name === 'clientConnected').length === 2, 'the first connection');
  const oldServerSide = events[1]!.args[0] as Client;

  const fresh = await broker.connect({ clientId: 'twin' });
  assert.equal(fresh.connack.returnCode, 0);
  await waitFor(() => oldClosed, 'the old connection to be closed');

  const twin = events.filter((e) => (e.args[0] as Client).id === 'twin').map((e) => [e.name, e.args[0], e.args[1]]);
  assert.equal(twin.length, 3);
  assert.deepEqual(twin[0], ['clientConnected', oldServerSide, undefined]);
  // The old one is gone before the new one is connected (Mosca's order).
  assert.deepEqual(twin[1], ['clientDisconnected', oldServerSide, 'new connection request']);
  assert.equal(twin[2]![0], 'clientConnected');
  assert.notEqual(twin[2]![1], oldServerSide);
  assert.equal(broker.server.clients.twin, twin[2]![1]);

  // [MQTT-3.1.2-8] the network connection closed without DISCONNECT: its will goes out (Mosca skipped it).
  await waitFor(() => watcher.messages.some((m) => m.topic === 'last/words'), 'the will of the old connection');
  assert.deepEqual(watcher.messages.filter((m) => m.topic === 'last/words').map((m) => [m.payload.toString(), m.qos]), [['old', 1]]);
  // The new connection works.
  await roundTrip(fresh);
});

test('a durable session taken over keeps its subscriptions for the new connection', async (t) => {
  const broker = await useBroker(t);
  const old = await broker.connect({ clientId: 'durable-twin', clean: false });
  await old.client.subscribeAsync('shared/topic', { qos: 1 });
  const fresh = await broker.connect({ clientId: 'durable-twin', clean: false });
  assert.equal(fresh.connack.sessionPresent, true); // [MQTT-3.2.2-2]
  const publisher = await broker.connect();
  await publisher.client.publishAsync('shared/topic', 'after takeover', { qos: 1 });
  await waitFor(() => fresh.messages.some((m) => m.topic === 'shared/topic'), 'the message on the new connection');
  assert.deepEqual(old.messages, []);
});

test('a durable session taken over keeps the will of the new connection, not the old one', async (t) => {
  const broker = await useBroker(t);
  const watcher = await broker.connect();
  await watcher.client.subscribeAsync('wills/#', { qos: 1 });
  await broker.connect({ clientId: 'will-twin', clean: false, will: { topic: 'wills/old', payload: Buffer.from('old'), qos: 1, retain: false } });
  const fresh = await broker.connect({ clientId: 'will-twin', clean: false, will: { topic: 'wills/new', payload: Buffer.from('new'), qos: 1, retain: false } });
  await waitFor(() => watcher.messages.length === 1, 'the old will');
  assert.equal((await broker.server.store.getWill('will-twin'))?.topic, 'wills/new');
  // Taken over again by a connection without a will: none is left stored for it.
  await broker.connect({ clientId: 'will-twin', clean: false });
  await waitFor(() => watcher.messages.length === 2, 'the second will');
  assert.deepEqual(watcher.messages.map((m) => m.topic), ['wills/old', 'wills/new']);
  assert.equal(await broker.server.store.getWill('will-twin'), null);
  void fresh;
});
