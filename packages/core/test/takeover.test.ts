/**
 * A second connection with a client id already connected takes the session over. [MQTT-3.1.4-2]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../src/index.js';
import { recordEvents, roundTrip, useBroker, waitFor } from './helpers.js';

test('the old connection is closed with reason "new connection request" and no will', async (t) => {
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

  // Mosca's rule: no will on a takeover.
  await roundTrip(watcher);
  assert.deepEqual(watcher.messages.filter((m) => m.topic === 'last/words'), []);
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
