/**
 * MQTT 5 CONNECT and CONNACK: what the broker advertises, assigned client ids, Server Keep Alive,
 * Response Information, refusals with reason codes (and their 3.1.1 answers), redirection.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connectBytes, disconnect, harness, roundTrip, useBroker, waitFor } from './helpers.js';

describe('MQTT 5 CONNACK', () => {
  test('advertises what the broker supports, and behaves as advertised', async (t) => {
    const broker = await useBroker(t, { maxPacketSize: 65_536 });
    const { connack } = await broker.connect({ protocolVersion: 5, clientId: 'adv' });
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.sessionPresent, false); // [MQTT-3.2.2-2]
    const p = connack.properties!;
    assert.equal(p.retainAvailable, true);
    assert.equal(p.wildcardSubscriptionAvailable, true);
    assert.equal(p.subscriptionIdentifiersAvailable, true);
    assert.equal(p.sharedSubscriptionAvailable, false);
    assert.equal(p.maximumPacketSize, 65_536);
    assert.equal(p.topicAliasMaximum, 10);
    // QoS 2 is supported: Maximum QoS is absent. [MQTT-3.2.2-9]
    assert.equal(p.maximumQoS, undefined);
    assert.equal(p.assignedClientIdentifier, undefined);
    assert.equal(p.serverKeepAlive, undefined);
  });

  test('an empty client id gets an Assigned Client Identifier, with Clean Start 0 too [MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16]', async (t) => {
    const broker = await useBroker(t);
    const ids = new Set<string>();
    for (const clean of [true, false]) {
      const raw = await broker.raw(5);
      raw.sendBytes(connectBytes({ level: 5, clientId: '', clean }));
      const connack = await raw.next('connack');
      assert.equal(connack.reasonCode, 0);
      const id = connack.properties?.assignedClientIdentifier;
      assert.ok(id && id.length > 0, 'an assigned id');
      assert.ok(broker.server.clients[id], 'the client is known by that id');
      ids.add(id);
    }
    assert.equal(ids.size, 2, 'each id is new');
  });

  test('Response Information only for a client that requests it [MQTT-3.1.2-28]', async (t) => {
    const broker = await useBroker(t, { responseInformation: 'replies/' });
    const asking = await broker.connect({ protocolVersion: 5, properties: { requestResponseInformation: true } });
    assert.equal(asking.connack.properties?.responseInformation, 'replies/');
    const silent = await broker.connect({ protocolVersion: 5, properties: { requestResponseInformation: false } });
    assert.equal(silent.connack.properties?.responseInformation, undefined);
    const unasked = await broker.connect({ protocolVersion: 5 });
    assert.equal(unasked.connack.properties?.responseInformation, undefined);
  });
});

describe('MQTT 5 keepalive: maxKeepalive', () => {
  test('a keepalive of 0 or above the cap is replaced by Server Keep Alive [MQTT-3.2.2-21]', async (t) => {
    const broker = await useBroker(t, { maxKeepalive: 30 });
    for (const [asked, told] of [[0, 30], [60, 30], [10, undefined]] as const) {
      const raw = await broker.raw(5);
      const connack = await raw.handshake({ keepalive: asked });
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.properties?.serverKeepAlive, told, `keepalive ${asked}`);
    }
  });

  test('the server enforces the keepalive it told, and says why it closes: 0x8D [MQTT-3.1.2-22]', async (t) => {
    const broker = await useBroker(t, { maxKeepalive: 1 });
    const raw = await broker.raw(5);
    const connack = await raw.handshake({ keepalive: 0 });
    assert.equal(connack.properties?.serverKeepAlive, 1);
    const disconnect = await raw.next('disconnect', 6000);
    assert.equal(disconnect.reasonCode, 0x8d);
    await raw.waitClosed();
  });

  test('a 3.1.1 client above the cap is refused: it cannot be told another keepalive', async (t) => {
    const broker = await useBroker(t, { maxKeepalive: 30 });
    const raw = await broker.raw();
    assert.equal((await raw.handshake({ keepalive: 60 })).returnCode, 2);
    await raw.waitClosed();
    const within = await broker.raw();
    assert.equal((await within.handshake({ keepalive: 30 })).returnCode, 0);
  });
});

describe('MQTT 5 refusals carry reason codes; 3.1.1 keeps its return codes', () => {
  const cases = [
    { name: 'false', hook: () => false, v5: 0x87, v3: 5 },
    { name: 'an error', hook: () => Promise.reject(new Error('no')), v5: 0x86, v3: 4 },
    { name: 'an error with reasonCode 0x8A (banned)', hook: () => Promise.reject(Object.assign(new Error('banned'), { reasonCode: 0x8a })), v5: 0x8a, v3: 5 },
  ];
  for (const { name, hook, v5, v3 } of cases) {
    test(`authenticate answering ${name}: CONNACK 0x${v5.toString(16)} / ${v3}, then closed [MQTT-3.2.2-7]`, async (t) => {
      const broker = await useBroker(t);
      broker.server.authenticate = hook;
      const raw5 = await broker.raw(5);
      const connack5 = await raw5.handshake({ clientId: 'refused5' });
      assert.equal(connack5.reasonCode, v5);
      assert.equal(connack5.sessionPresent, false); // [MQTT-3.2.2-6]
      assert.ok(connack5.properties?.reasonString, 'a reason string says why');
      await raw5.waitClosed();
      const raw3 = await broker.raw();
      assert.equal((await raw3.handshake({ clientId: 'refused3' })).returnCode, v3);
      await raw3.waitClosed();
    });
  }

  test('authenticate sees the CONNECT properties of a 5.0 client', async (t) => {
    const broker = await useBroker(t);
    let seen: unknown;
    broker.server.authenticate = (client) => {
      seen = client.connectProperties?.userProperties;
      return true;
    };
    await broker.connect({ protocolVersion: 5, properties: { userProperties: { device: 'thermostat' } } });
    assert.deepEqual(seen, [['device', 'thermostat']]);
  });

  test('redirect: 0x9C "use another server" with Server Reference; permanent: 0x9D; 3.1.1: CONNACK 3', async (t) => {
    for (const permanent of [false, true]) {
      const broker = await useBroker(t, { redirect: { serverReference: 'other.example:1883', permanent } });
      const raw = await broker.raw(5);
      const connack = await raw.handshake();
      assert.equal(connack.reasonCode, permanent ? 0x9d : 0x9c);
      assert.equal(connack.properties?.serverReference, 'other.example:1883');
      await raw.waitClosed();
      const raw3 = await broker.raw();
      assert.equal((await raw3.handshake()).returnCode, 3);
    }
  });
});

describe('MQTT 5 CONNECT errors', () => {
  test('a Receive Maximum of 0 is a Protocol Error: CONNACK 0x82, then closed', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    assert.equal((await raw.handshake({ properties: { receiveMaximum: 0 } })).reasonCode, 0x82);
    await raw.waitClosed();
  });

  test('a property given twice is a Protocol Error; one a CONNECT may not carry makes it malformed', async (t) => {
    const broker = await useBroker(t);
    // Session Expiry Interval (0x11) twice.
    const twice = [0x0a, 0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2];
    // Topic Alias (0x23) belongs to PUBLISH.
    const foreign = [0x03, 0x23, 0, 1];
    for (const [properties, code] of [[twice, 0x82], [foreign, 0x81]] as const) {
      const body = [0, 4, ...Buffer.from('MQTT'), 5, 0x02, 0, 60, ...properties, 0, 1, 0x78];
      const raw = await broker.raw(5);
      raw.sendBytes([0x10, body.length, ...body]);
      assert.equal((await raw.next('connack')).reasonCode, code);
      await raw.waitClosed();
    }
  });

  test('an unknown protocol level is still answered the 3.1.1 way (CONNACK 1)', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw();
    raw.sendBytes(connectBytes({ level: 6, clientId: 'six' }));
    assert.equal((await raw.next('connack')).returnCode, 1); // [MQTT-3.1.2-2]
    await raw.waitClosed();
  });
});

describe('MQTT 5 sessions: Clean Start and Session Expiry Interval', () => {
  test('Clean Start 0 with a Session Expiry Interval resumes the session: Session Present, subscriptions, queued messages [MQTT-3.1.2-5] [MQTT-3.2.2-3]', async (t) => {
    const broker = await harness(t);
    const options = { protocolVersion: 5 as const, clientId: 'resume5', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await broker.connect(options);
    assert.equal(first.connack.sessionPresent, false);
    await first.client.subscribeAsync('resume/#', { qos: 1 });
    await disconnect(broker, first);
    await broker.server.publish({ topic: 'resume/1', payload: 'while away', qos: 1 });
    const second = await broker.connect(options);
    assert.equal(second.connack.sessionPresent, true);
    await waitFor(() => second.messages.length === 1, 'the queued message');
    assert.equal(second.messages[0]!.payload.toString(), 'while away');
  });

  test('Clean Start 1 discards the session [MQTT-3.1.2-4]', async (t) => {
    const broker = await harness(t);
    const kept = { protocolVersion: 5 as const, clientId: 'fresh5', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await broker.connect(kept);
    await first.client.subscribeAsync('fresh/#', { qos: 1 });
    await disconnect(broker, first);
    const second = await broker.connect({ ...kept, clean: true });
    assert.equal(second.connack.sessionPresent, false);
    await second.client.publishAsync('fresh/x', 'no subscriber', { qos: 1 });
    await roundTrip(second);
    assert.deepEqual(second.messages.filter((m) => m.topic === 'fresh/x'), []);
  });

  test('a Session Expiry Interval of 0 ends the session with the connection, even one resumed [MQTT-3.1.2-23]', async (t) => {
    const broker = await harness(t);
    const durable = { protocolVersion: 5 as const, clientId: 'brief5', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await broker.connect(durable);
    await first.client.subscribeAsync('brief/#', { qos: 1 });
    await disconnect(broker, first);
    // Resumed with an interval of 0: present now, gone after this connection.
    const second = await broker.connect({ ...durable, properties: { sessionExpiryInterval: 0 } });
    assert.equal(second.connack.sessionPresent, true);
    await disconnect(broker, second);
    const third = await broker.connect(durable);
    assert.equal(third.connack.sessionPresent, false);
  });

  test('DISCONNECT may set the interval to 0, which ends the session', async (t) => {
    const broker = await harness(t);
    const durable = { protocolVersion: 5 as const, clientId: 'ending5', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await broker.connect(durable);
    await first.client.subscribeAsync('ending/#', { qos: 1 });
    await new Promise<void>((resolve) => first.client.end(false, { properties: { sessionExpiryInterval: 0 } }, () => resolve()));
    await waitFor(() => !broker.server.clients['ending5'], 'the session to end');
    const second = await broker.connect(durable);
    assert.equal(second.connack.sessionPresent, false);
  });

  test('DISCONNECT setting an interval after CONNECT gave 0 is a Protocol Error: DISCONNECT 0x82', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake({ clientId: 'zero5' });
    raw.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
    await raw.waitClosed();
  });
});

describe('MQTT 5 server DISCONNECT', () => {
  test('a session taken over gets DISCONNECT 0x8E [MQTT-3.1.4-3]', async (t) => {
    const broker = await useBroker(t);
    const first = await broker.raw(5);
    await first.handshake({ clientId: 'twin5' });
    const second = await broker.raw(5);
    assert.equal((await second.handshake({ clientId: 'twin5' })).reasonCode, 0);
    assert.equal((await first.next('disconnect')).reasonCode, 0x8e);
    await first.waitClosed();
  });

  test('a closing server says 0x8B "server shutting down"; a 3.1.1 client is just closed', async (t) => {
    const broker = await useBroker(t);
    const v5 = await broker.raw(5);
    await v5.handshake();
    const v3 = await broker.raw();
    await v3.handshake();
    await broker.server.close();
    assert.equal((await v5.next('disconnect')).reasonCode, 0x8b);
    await v3.waitClosed();
    assert.deepEqual(v3.pending('disconnect'), []);
  });

  test('a packet larger than maxPacketSize: DISCONNECT 0x95', async (t) => {
    const broker = await useBroker(t, { maxPacketSize: 1024 });
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(2048), qos: 0, retain: false, dup: false });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x95);
    await raw.waitClosed();
  });
});
