/**
 * Session lifetime: a clean session ends with its connection, a durable one keeps its
 * subscriptions [MQTT-3.1.2-4], and connecting clean discards a durable one [MQTT-3.1.2-6].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disconnect, roundTrip, useBroker, waitFor, type Fixture, type TestClient } from './helpers.js';

/** Publishes on `topic` from a separate client, at QoS 1. */
async function publishFromOutside(broker: Fixture, topic: string, payload: string): Promise<void> {
  const publisher = await broker.connect();
  await publisher.client.publishAsync(topic, payload, { qos: 1 });
  await publisher.end();
}

/** Asserts `tc` received nothing on `topic`, after making sure everything routed to it has arrived. */
async function assertNothingOn(tc: TestClient, topic: string): Promise<void> {
  await roundTrip(tc);
  assert.deepEqual(tc.messages.filter((m) => m.topic === topic).map((m) => m.payload.toString()), []);
}

test('a clean session loses its subscriptions when it disconnects', async (t) => {
  const broker = await useBroker(t);
  const clean = await broker.connect({ clientId: 'ephemeral', clean: true });
  await clean.client.subscribeAsync('news', { qos: 1 });
  await disconnect(broker, clean);

  const durable = await broker.connect({ clientId: 'ephemeral', clean: false });
  assert.equal(durable.connack.sessionPresent, false); // [MQTT-3.2.2-3]
  await publishFromOutside(broker, 'news', 'for nobody');
  await assertNothingOn(durable, 'news');
});

test('a durable session keeps its subscriptions across connections', async (t) => {
  const broker = await useBroker(t);
  const first = await broker.connect({ clientId: 'keeper', clean: false });
  await first.client.subscribeAsync('news', { qos: 1 });
  await disconnect(broker, first);

  const second = await broker.connect({ clientId: 'keeper', clean: false });
  assert.equal(second.connack.sessionPresent, true); // [MQTT-3.2.2-2]
  // No SUBSCRIBE on this connection: the session's subscription delivers. [MQTT-3.1.2-4]
  await publishFromOutside(broker, 'news', 'still subscribed');
  await waitFor(() => second.messages.some((m) => m.topic === 'news'), 'the message');
  assert.equal(second.messages.find((m) => m.topic === 'news')!.payload.toString(), 'still subscribed');
});

test('connecting with clean session discards a previous durable session', async (t) => {
  const broker = await useBroker(t);
  const durable = await broker.connect({ clientId: 'reset', clean: false });
  await durable.client.subscribeAsync('news', { qos: 1 });
  await disconnect(broker, durable);

  const clean = await broker.connect({ clientId: 'reset', clean: true });
  assert.equal(clean.connack.sessionPresent, false); // [MQTT-3.2.2-1]
  await publishFromOutside(broker, 'news', 'not for the clean session');
  await assertNothingOn(clean, 'news');
  await disconnect(broker, clean);

  // [MQTT-3.1.2-6] the previous session is gone for good, not just hidden for one connection.
  const again = await broker.connect({ clientId: 'reset', clean: false });
  assert.equal(again.connack.sessionPresent, false);
  await assertNothingOn(again, 'news');
});
