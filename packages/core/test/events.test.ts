/**
 * Server events with Mosca's names and arguments (mosca.md §1.4). `keepalive timeout` is covered
 * in keepalive.test.ts and `new connection request` in takeover.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Client, Server, type Message, type PublishedMessage } from '../src/index.js';
import { disconnectionOf, recordEvents, roundTrip, useBroker, waitFor, type Emitted } from './helpers.js';

/** The events of one client id, as [name, ...arguments other than the client]. */
function eventsOf(events: Emitted[], clientId: string): unknown[][] {
  return events
    .filter((e) => e.args.some((a) => a instanceof Client && a.id === clientId))
    .map((e) => [e.name, ...e.args.filter((a) => !(a instanceof Client))]);
}

describe('server lifecycle', () => {
  test('ready once listening, closed once after close()', async () => {
    const server = new Server({ port: 0, host: '127.0.0.1', logger: false });
    const events = recordEvents(server, ['ready', 'closed']);
    await once(server, 'ready');
    assert.equal(server.address()[0]!.port > 0, true);
    await server.close();
    await server.close();
    assert.deepEqual(events.map((e) => [e.name, e.args]), [['ready', []], ['closed', []]]);
  });
});

describe('connection events', () => {
  test('clientConnected(client), clientDisconnecting(client), clientDisconnected(client, "disconnect request")', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['clientConnected', 'clientDisconnecting', 'clientDisconnected']);
    const tc = await broker.connect({ clientId: 'evt' });
    await waitFor(() => events.length === 1, 'clientConnected');
    const client = events[0]!.args[0] as Client;
    assert.equal(client.id, 'evt');
    assert.equal(broker.server.clients.evt, client, 'server.clients holds it while connected');
    const ended = disconnectionOf(broker.server, 'evt');
    await tc.end();
    await ended;
    assert.deepEqual(events.map((e) => [e.name, ...e.args]), [
      ['clientConnected', client],
      ['clientDisconnecting', client],
      ['clientDisconnected', client, 'disconnect request'],
    ]);
    assert.equal(broker.server.clients.evt, undefined);
  });

  test('clientDisconnected reason "close" when the socket closes without DISCONNECT', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    await raw.handshake({ clientId: 'dropped' });
    const ended = disconnectionOf(broker.server, 'dropped');
    raw.close();
    assert.equal(await ended, 'close');
  });

  test('clientDisconnected reason "server closed" for every client on close()', async (t) => {
    const broker = await useBroker(t);
    await broker.connect({ clientId: 'one' });
    await broker.connect({ clientId: 'two' });
    const reasons = [disconnectionOf(broker.server, 'one'), disconnectionOf(broker.server, 'two')];
    await broker.close();
    assert.deepEqual(await Promise.all(reasons), ['server closed', 'server closed']);
  });

  test('a connection refused at CONNECT emits no connection events', async (t) => {
    const broker = await useBroker(t);
    broker.server.authenticate = (_client, _user, _pass, callback) => callback(null, false);
    const events = recordEvents(broker.server, ['clientConnected', 'clientDisconnecting', 'clientDisconnected']);
    const raw = await broker.raw();
    assert.equal((await raw.handshake({ clientId: 'refused' })).returnCode, 5);
    await raw.waitClosed();
    const other = await broker.raw(); // a connection after it, to let the broker finish the first
    broker.server.authenticate = undefined;
    await other.handshake({ clientId: 'accepted' });
    await waitFor(() => events.length === 1, 'clientConnected of the next client');
    assert.deepEqual(eventsOf(events, 'refused'), []);
  });

  test('clientError(error, client) when a connected client sends garbage', async (t) => {
    const broker = await useBroker(t);
    const errors = recordEvents(broker.server, ['clientError']);
    const raw = await broker.raw();
    await raw.handshake({ clientId: 'noisy' });
    raw.sendBytes([0x00, 0x00]); // packet type 0 is reserved [MQTT-2.2.1]
    await raw.waitClosed();
    await waitFor(() => errors.length === 1, 'clientError');
    const [error, client] = errors[0]!.args as [Error, Client];
    assert.ok(error instanceof Error);
    assert.equal(client.id, 'noisy');
  });

  test('pingreq(client)', async (t) => {
    const broker = await useBroker(t);
    const pings = recordEvents(broker.server, ['pingreq']);
    const raw = await broker.raw();
    await raw.handshake({ clientId: 'ping' });
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
    assert.deepEqual(eventsOf(pings, 'ping'), [['pingreq']]);
  });
});

describe('subscription events', () => {
  test('subscribed(topic, client) per granted filter; none for a refused one', async (t) => {
    const broker = await useBroker(t);
    broker.server.authorizeSubscribe = (_client, topic, callback) => callback(null, topic !== 'denied');
    const events = recordEvents(broker.server, ['subscribed']);
    const raw = await broker.raw();
    await raw.handshake({ clientId: 'sub' });
    const subscriptions = [{ topic: 'a/b', qos: 0 as const }, { topic: 'c/#', qos: 1 as const }, { topic: 'denied', qos: 0 as const }];
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions });
    assert.deepEqual((await raw.next('suback')).granted, [0, 1, 0x80]);
    assert.deepEqual(eventsOf(events, 'sub'), [['subscribed', 'a/b'], ['subscribed', 'c/#']]);
  });

  test('unsubscribed(topic, client) on UNSUBSCRIBE, even for a filter never held (Mosca)', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['unsubscribed']);
    const tc = await broker.connect({ clientId: 'unsub' });
    await tc.client.subscribeAsync('x/y');
    await tc.client.unsubscribeAsync(['x/y', 'never/held']);
    assert.deepEqual(eventsOf(events, 'unsub'), [['unsubscribed', 'x/y'], ['unsubscribed', 'never/held']]);
  });

  test('unsubscribed(topic, client) for each filter of a clean session when it ends, not for a durable one', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['unsubscribed']);
    const clean = await broker.connect({ clientId: 'clean-sub', clean: true });
    const durable = await broker.connect({ clientId: 'durable-sub', clean: false });
    await clean.client.subscribeAsync(['p', 'q']);
    await durable.client.subscribeAsync(['p', 'q']);
    const ended = [disconnectionOf(broker.server, 'clean-sub'), disconnectionOf(broker.server, 'durable-sub')];
    await Promise.all([clean.end(), durable.end()]);
    await Promise.all(ended);
    assert.deepEqual(eventsOf(events, 'clean-sub'), [['unsubscribed', 'p'], ['unsubscribed', 'q']]);
    assert.deepEqual(eventsOf(events, 'durable-sub'), []);
  });
});

describe('message events', () => {
  test('published(packet, client) for a client publish', async (t) => {
    const broker = await useBroker(t, { publishNewClient: false });
    const events = recordEvents(broker.server, ['published']);
    const tc = await broker.connect({ clientId: 'pub' });
    await tc.client.publishAsync('pub/topic', 'hello', { qos: 1, retain: true });
    await waitFor(() => events.length === 1, 'published');
    const [packet, client] = events[0]!.args as [Message, Client];
    assert.equal(client.id, 'pub');
    const { id: _id, messageId: _messageId, ...rest } = packet as PublishedMessage;
    assert.deepEqual({ ...rest, payload: packet.payload.toString() }, { topic: 'pub/topic', payload: 'hello', qos: 1, retain: true });
  });

  test('published(packet, null) for a host publish', async (t) => {
    const broker = await useBroker(t, { publishNewClient: false });
    const events = recordEvents(broker.server, ['published']);
    await broker.server.publish({ topic: 'host/topic', payload: 'from the app' });
    assert.equal(events.length, 1);
    const [packet, client] = events[0]!.args as [Message, Client | null];
    assert.equal(packet.topic, 'host/topic');
    assert.equal(client ?? null, null);
  });

  test('published for $SYS/<id>/new/clients when publishNewClient is on (the default)', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['published']);
    await broker.connect({ clientId: 'newcomer' });
    const topic = `$SYS/${broker.server.id}/new/clients`;
    await waitFor(() => events.some((e) => (e.args[0] as Message).topic === topic), topic);
    const packet = events.find((e) => (e.args[0] as Message).topic === topic)!.args[0] as Message;
    assert.equal(packet.payload.toString(), 'newcomer');
  });

  test('no $SYS new/clients when publishNewClient is false', async (t) => {
    const broker = await useBroker(t, { publishNewClient: false });
    const events = recordEvents(broker.server, ['published']);
    const tc = await broker.connect({ clientId: 'quiet-newcomer' });
    await roundTrip(tc);
    assert.deepEqual(events.map((e) => (e.args[0] as Message).topic).filter((topic) => topic.endsWith('/new/clients')), []);
  });

  test('published for $SYS/<id>/disconnect/clients when a client leaves (publishClientDisconnect, the default)', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['published']);
    const tc = await broker.connect({ clientId: 'leaver' });
    const ended = disconnectionOf(broker.server, 'leaver');
    await tc.end();
    await ended;
    const topic = `$SYS/${broker.server.id}/disconnect/clients`;
    await waitFor(() => events.some((e) => (e.args[0] as Message).topic === topic), topic);
    const packet = events.find((e) => (e.args[0] as Message).topic === topic)!.args[0] as Message;
    assert.equal(packet.payload.toString(), 'leaver');
  });

  test('no $SYS disconnect/clients when publishClientDisconnect is false', async (t) => {
    const broker = await useBroker(t, { publishClientDisconnect: false });
    const events = recordEvents(broker.server, ['published']);
    const watcher = await broker.connect();
    const leaver = await broker.connect({ clientId: 'silent-leaver' });
    const ended = disconnectionOf(broker.server, 'silent-leaver');
    await leaver.end();
    await ended;
    await roundTrip(watcher); // a publish routed after the disconnection
    assert.deepEqual(events.map((e) => (e.args[0] as Message).topic).filter((topic) => topic.endsWith('/disconnect/clients')), []);
  });

  test('delivered(packet, client) when the subscriber acknowledges a QoS 1 message', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['delivered']);
    const subscriber = await broker.connect({ clientId: 'acker' });
    await subscriber.client.subscribeAsync('d/t', { qos: 1 });
    await broker.server.publish({ topic: 'd/t', payload: 'ack me', qos: 1 });
    await waitFor(() => events.length === 1, 'delivered');
    const [packet, client] = events[0]!.args as [Message & { messageId: number }, Client];
    assert.equal(client.id, 'acker');
    assert.equal(packet.topic, 'd/t');
    assert.equal(packet.payload.toString(), 'ack me');
    assert.equal(packet.qos, 1);
    assert.equal(typeof packet.messageId, 'number');
  });

  test('no delivered event for QoS 0', async (t) => {
    const broker = await useBroker(t);
    const events = recordEvents(broker.server, ['delivered']);
    const subscriber = await broker.connect({ clientId: 'qos0' });
    await subscriber.client.subscribeAsync('d/zero', { qos: 0 });
    await broker.server.publish({ topic: 'd/zero', payload: 'fire and forget', qos: 0 });
    await waitFor(() => subscriber.messages.some((m) => m.topic === 'd/zero'), 'the message');
    // Its own QoS 1 round trip afterwards is delivered: that is the only event.
    await roundTrip(subscriber);
    await waitFor(() => events.length > 0, 'delivered for the QoS 1 round trip');
    assert.deepEqual(events.map((e) => (e.args[0] as Message).topic.split('/')[0]), ['roundtrip']);
  });
});
