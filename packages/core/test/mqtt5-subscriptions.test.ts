/**
 * MQTT 5 subscription options (No Local, Retain As Published, Retain Handling) and Subscription
 * Identifiers: live, retained, queued for an offline session, and kept by a durable session.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { disconnect, flush, harness, roundTrip, waitFor } from './helpers.js';

describe('MQTT 5 subscription options', () => {
  test('No Local: a client does not get back what it publishes; others do [MQTT-3.8.3-3]', async (t) => {
    const broker = await harness(t);
    const self = await broker.connect({ protocolVersion: 5 });
    await self.client.subscribeAsync('nl/#', { qos: 1, nl: true });
    const other = await broker.subscriber({ 'nl/#': 1 }, { protocolVersion: 5 });
    await self.client.publishAsync('nl/mine', 'from self', { qos: 1 });
    await other.client.publishAsync('nl/theirs', 'from other', { qos: 1 });
    await waitFor(() => self.messages.length === 1, 'the other client\'s message');
    await flush(self, other);
    assert.deepEqual(self.messages.map((m) => m.topic), ['nl/theirs']);
    assert.equal(other.messages.filter((m) => m.topic === 'nl/mine').length, 1);
    // An overlapping subscription without No Local still brings it back, once.
    await self.client.subscribeAsync('nl/mine', { qos: 0 });
    await self.client.publishAsync('nl/mine', 'again', { qos: 1 });
    await waitFor(() => self.messages.some((m) => m.payload.toString() === 'again'), 'the message through the other filter');
  });

  test('Retain As Published keeps the RETAIN flag of live messages; without it, it is 0 [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async (t) => {
    const broker = await harness(t);
    const keeps = await broker.connect({ protocolVersion: 5 });
    await keeps.client.subscribeAsync('rap/#', { qos: 1, rap: true });
    const clears = await broker.connect({ protocolVersion: 5 });
    await clears.client.subscribeAsync('rap/#', { qos: 1, rap: false });
    const old = await broker.subscriber({ 'rap/#': 1 });
    await broker.server.publish({ topic: 'rap/r', payload: 'retained', qos: 1, retain: true });
    await broker.server.publish({ topic: 'rap/n', payload: 'plain', qos: 1 });
    for (const c of [keeps, clears, old]) await waitFor(() => c.messages.length === 2, 'both messages');
    assert.deepEqual(keeps.messages.map((m) => m.retain), [true, false]);
    assert.deepEqual(clears.messages.map((m) => m.retain), [false, false]);
    assert.deepEqual(old.messages.map((m) => m.retain), [false, false]);
  });

  test('Retain Handling 0 sends retained messages on every subscribe, 1 only on a new subscription, 2 never [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11]', async (t) => {
    const broker = await harness(t);
    await broker.server.publish({ topic: 'rh/x', payload: 'kept', qos: 1, retain: true });
    const counts: number[] = [];
    for (const rh of [0, 1, 2] as const) {
      const client = await broker.connect({ protocolVersion: 5 });
      await client.client.subscribeAsync('rh/#', { qos: 1, rh });
      await client.client.subscribeAsync('rh/#', { qos: 1, rh }); // the same filter again
      await roundTrip(client);
      counts.push(client.messages.filter((m) => m.topic === 'rh/x').length);
      assert.ok(client.messages.filter((m) => m.topic === 'rh/x').every((m) => m.retain), 'sent with RETAIN 1');
    }
    assert.deepEqual(counts, [2, 1, 0]);
  });
});

describe('MQTT 5 Subscription Identifiers', () => {
  test('one copy for overlapping subscriptions carries every matching identifier [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async (t) => {
    const broker = await harness(t);
    const client = await broker.connect({ protocolVersion: 5 });
    await client.client.subscribeAsync('si/+', { qos: 1, properties: { subscriptionIdentifier: 1 } });
    await client.client.subscribeAsync('si/#', { qos: 2, properties: { subscriptionIdentifier: 2 } });
    await client.client.subscribeAsync('si/plain', { qos: 0 });
    await broker.server.publish({ topic: 'si/a', payload: 'two', qos: 2 });
    await broker.server.publish({ topic: 'si/plain', payload: 'three', qos: 2 });
    await broker.server.publish({ topic: 'si/a/b', payload: 'one', qos: 2 });
    await waitFor(() => client.messages.length === 3, 'three messages, one copy each');
    const ids = client.messages.map((m) => [m.payload.toString(), m.qos, ([] as number[]).concat(m.properties?.subscriptionIdentifier ?? []).sort()]);
    assert.deepEqual(ids, [
      ['two', 2, [1, 2]],
      ['three', 2, [1, 2]],
      ['one', 2, [2]],
    ]);
  });

  test('retained messages on subscribe carry the identifier; a new SUBSCRIBE replaces it', async (t) => {
    const broker = await harness(t);
    await broker.server.publish({ topic: 'sir/x', payload: 'r', qos: 1, retain: true });
    const client = await broker.connect({ protocolVersion: 5 });
    await client.client.subscribeAsync('sir/#', { qos: 1, properties: { subscriptionIdentifier: 42 } });
    await waitFor(() => client.messages.length === 1, 'the retained message');
    assert.equal(client.messages[0]!.properties?.subscriptionIdentifier, 42);
    await client.client.subscribeAsync('sir/#', { qos: 1, properties: { subscriptionIdentifier: 43 } });
    await broker.server.publish({ topic: 'sir/y', payload: 'live', qos: 1 });
    await waitFor(() => client.messages.some((m) => m.topic === 'sir/y'), 'the live message');
    assert.equal(client.messages.find((m) => m.topic === 'sir/y')!.properties?.subscriptionIdentifier, 43);
  });

  test('a durable session keeps its options and identifiers, and its queued messages carry them', async (t) => {
    const broker = await harness(t);
    const options = { protocolVersion: 5 as const, clientId: 'sid-durable', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await broker.connect(options);
    await first.client.subscribeAsync('sid/+', { qos: 1, rap: true, properties: { subscriptionIdentifier: 7 } });
    await first.client.subscribeAsync('sid/#', { qos: 1, nl: true, properties: { subscriptionIdentifier: 8 } });
    await disconnect(broker, first);
    await broker.server.publish({ topic: 'sid/q', payload: 'queued', qos: 1, retain: true });
    const second = await broker.connect(options);
    await waitFor(() => second.messages.length === 1, 'the queued message');
    const queued = second.messages[0]!;
    assert.deepEqual(([] as number[]).concat(queued.properties?.subscriptionIdentifier ?? []).sort(), [7, 8]);
    assert.equal(queued.retain, true, 'Retain As Published, kept while offline');
    // No Local survived too.
    await second.client.publishAsync('sid/self', 'mine', { qos: 1 });
    await roundTrip(second);
    assert.deepEqual(second.messages.filter((m) => m.topic === 'sid/self').map((m) => m.properties?.subscriptionIdentifier), [7]);
  });
});
