/**
 * CONNECT handling: packet order, protocol levels, client identifiers and sessionPresent.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../src/index.js';
import { connectBytes, disconnect, recordEvents, roundTrip, useBroker, waitFor } from './helpers.js';

describe('packet order', () => {
  test('a SUBSCRIBE before CONNECT closes the connection', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    // [MQTT-3.1.0-1] the first packet from the client must be CONNECT.
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] });
    await raw.waitClosed();
    assert.deepEqual(raw.packets, [], 'nothing is answered');
  });

  test('a PUBLISH before CONNECT closes the connection and is not routed', async (t) => {
    const broker = await useBroker(t);
    const watcher = await broker.connect();
    await watcher.client.subscribeAsync('early/#');
    const raw = await broker.raw();
    raw.send({ cmd: 'publish', topic: 'early/bird', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }); // [MQTT-3.1.0-1]
    await raw.waitClosed();
    assert.deepEqual(raw.packets, []);
    assert.deepEqual(watcher.messages.filter((m) => m.topic === 'early/bird'), []);
  });

  test('a second CONNECT on the same connection closes it', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    assert.equal((await raw.handshake({ clientId: 'twice' })).returnCode, 0);
    // [MQTT-3.1.0-2] a second CONNECT is a protocol violation: the server disconnects the client.
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'twice' });
    await raw.waitClosed();
    assert.deepEqual(raw.packets, [], 'no second CONNACK');
  });
});

describe('protocol level', () => {
  test('an unknown protocol level is answered with CONNACK 1, then closed', async (t) => {
    const broker = await useBroker(t);
    const connected = recordEvents(broker.server, ['clientConnected']);
    const raw = await broker.raw();
    raw.sendBytes(connectBytes({ level: 6, clientId: 'a' }));
    // [MQTT-3.1.2-2] unacceptable protocol level: CONNACK 0x01, then disconnect.
    const connack = await raw.next('connack');
    assert.equal(connack.returnCode, 1);
    assert.equal(connack.sessionPresent, false);
    await raw.waitClosed();
    assert.deepEqual(connected, []);
  });

  test('an MQTT 5 connection does not change how other connections are read', async (t) => {
    const broker = await useBroker(t);
    const bystander = await broker.connect({ clientId: 'v311' });
    const v5 = await broker.connect({ clientId: 'v5', protocolVersion: 5 });
    assert.equal(v5.connack.reasonCode, 0);
    await roundTrip(v5);
    await roundTrip(bystander); // a SUBSCRIBE and a PUBLISH read as MQTT 3.1.1
  });

  test('MQTT 3.1 (MQIsdp, level 3) is accepted and works', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    const connack = await raw.handshake({ protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'old-timer' });
    assert.equal(connack.returnCode, 0);
    raw.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'v31', qos: 0 }] });
    assert.deepEqual((await raw.next('suback')).granted, [0]);
    raw.send({ cmd: 'publish', topic: 'v31', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false });
    const message = await raw.next('publish');
    assert.equal(message.topic, 'v31');
    assert.equal(message.payload.toString(), 'hi');
  });
});

describe('client identifier', () => {
  test('an empty id with clean session gets a generated, unique id', async (t) => {
    const broker = await useBroker(t);
    const connected = recordEvents(broker.server, ['clientConnected']);
    const first = await broker.raw();
    const second = await broker.raw();
    // [MQTT-3.1.3-6] [MQTT-3.1.3-7] a zero-byte id with CleanSession=1 is given a unique id.
    assert.equal((await first.handshake({ clientId: '', clean: true })).returnCode, 0);
    assert.equal((await second.handshake({ clientId: '', clean: true })).returnCode, 0);
    await waitFor(() => connected.length === 2, 'two clientConnected events');
    const ids = connected.map((e) => (e.args[0] as Client).id);
    for (const id of ids) assert.ok(id.length > 0, 'the generated id is not empty');
    assert.notEqual(ids[0], ids[1]);
    assert.equal(first.closed || second.closed, false, 'neither took the other over');
  });

  test('an empty id without clean session is rejected with CONNACK 2', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    // [MQTT-3.1.3-8] a zero-byte id with CleanSession=0: CONNACK 0x02, then close.
    raw.sendBytes(connectBytes({ clientId: '', clean: false }));
    const connack = await raw.next('connack');
    assert.equal(connack.returnCode, 2);
    assert.equal(connack.sessionPresent, false);
    await raw.waitClosed();
  });

  test('an empty id on MQTT 3.1 is rejected with CONNACK 2 (Mosca)', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    raw.sendBytes(connectBytes({ protocolId: 'MQIsdp', level: 3, clientId: '', clean: true }));
    assert.equal((await raw.next('connack')).returnCode, 2);
    await raw.waitClosed();
  });
});

describe('sessionPresent', () => {
  test('is false for a clean session, even when one existed', async (t) => {
    const broker = await useBroker(t);
    const durable = await broker.connect({ clientId: 'sp-clean', clean: false });
    await durable.client.subscribeAsync('sp/clean', { qos: 1 });
    await disconnect(broker, durable);
    const clean = await broker.connect({ clientId: 'sp-clean', clean: true });
    assert.equal(clean.connack.sessionPresent, false); // [MQTT-3.2.2-1]
    assert.equal(clean.connack.returnCode, 0);
  });

  test('is false on the first durable connect and true when the durable session reconnects', async (t) => {
    const broker = await useBroker(t);
    const first = await broker.connect({ clientId: 'sp-durable', clean: false });
    assert.equal(first.connack.sessionPresent, false); // [MQTT-3.2.2-3]
    await first.client.subscribeAsync('sp/durable', { qos: 1 });
    await disconnect(broker, first);
    const again = await broker.connect({ clientId: 'sp-durable', clean: false });
    assert.equal(again.connack.sessionPresent, true); // [MQTT-3.2.2-2]
  });
});
