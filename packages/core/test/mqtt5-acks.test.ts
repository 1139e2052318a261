/**
 * MQTT 5 reason codes on SUBACK, UNSUBACK, PUBCOMP and from clients' PUBREC; Request Problem
 * Information; enhanced authentication with AUTH.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { SubscriptionRequest } from '../src/index.js';
import { harness, useBroker, waitFor } from './helpers.js';

describe('MQTT 5 SUBACK and UNSUBACK reason codes', () => {
  test('one code per filter, in order: granted QoS, 0x8F, 0x87, a hook-given code, 0x9E [MQTT-3.8.4-5] [MQTT-3.9.3-1]', async (t) => {
    const broker = await useBroker(t);
    const requests: SubscriptionRequest[] = [];
    broker.server.authorizeSubscribe = (_client, topic, callback, request: SubscriptionRequest) => {
      requests.push(request);
      if (topic === 'quota') callback(Object.assign(new Error('full'), { reasonCode: 0x97 }));
      else callback(null, topic !== 'secret');
    };
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({
      cmd: 'subscribe',
      messageId: 3,
      properties: { userProperties: { why: 'test' } },
      subscriptions: [
        { topic: 'ok/+', qos: 2, nl: true, rap: true, rh: 1 },
        { topic: 'bad/#/x', qos: 1, nl: false, rap: false, rh: 0 },
        { topic: 'secret', qos: 1, nl: false, rap: false, rh: 0 },
        { topic: 'quota', qos: 0, nl: false, rap: false, rh: 0 },
        { topic: '$share/group/t', qos: 1, nl: false, rap: false, rh: 0 },
      ],
    });
    const suback = await raw.next('suback');
    assert.equal(suback.messageId, 3);
    assert.deepEqual(suback.granted, [2, 0x8f, 0x87, 0x97, 0x9e]);
    // The hook saw the MQTT 5 options and properties of each filter it was asked about.
    assert.deepEqual(requests[0], { topic: 'ok/+', qos: 2, nl: true, rap: true, rh: 1, subscriptionIdentifier: undefined, userProperties: [['why', 'test']] });
    // 3.1.1 hears 0x80 for every refusal. [MQTT-3.9.3-2]
    const v3 = await broker.raw();
    await v3.handshake();
    assert.deepEqual(await v3.subscribe([{ topic: 'ok/+', qos: 1 }, { topic: 'secret', qos: 1 }]), [1, 0x80]);
  });

  test('a Subscription Identifier of 0 is a Protocol Error', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifier: 0 }, subscriptions: [{ topic: 'a', qos: 1, nl: false, rap: false, rh: 0 }] });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
  });

  test('UNSUBACK: 0x00 for a filter held, 0x11 for one that was not [MQTT-3.11.3-1]', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    await raw.subscribe([{ topic: 'held', qos: 0 }]);
    raw.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['never', 'held'] });
    const unsuback = await raw.next('unsuback');
    assert.equal(unsuback.messageId, 4);
    assert.deepEqual(unsuback.granted, [0x11, 0x00]);
  });
});

describe('MQTT 5 QoS 2 reason codes', () => {
  test('PUBREL for an unknown id: PUBCOMP 0x92 [MQTT-3.7.2-1]', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'pubrel', messageId: 42 });
    assert.equal((await raw.next('pubcomp')).reasonCode, 0x92);
  });

  test("a client's PUBREC with 0x80 or more ends the delivery: no PUBREL, the window moves on", async (t) => {
    const broker = await harness(t, { maxInflightMessages: 1 });
    const raw = await broker.raw(5);
    await raw.handshake();
    await raw.subscribe([{ topic: 'q2', qos: 2 }]);
    await broker.server.publish({ topic: 'q2', payload: 'one', qos: 2 });
    await broker.server.publish({ topic: 'q2', payload: 'two', qos: 2 });
    const first = await raw.next('publish');
    raw.send({ cmd: 'pubrec', messageId: first.messageId!, reasonCode: 0x80 });
    const second = await raw.next('publish');
    assert.equal(second.payload.toString(), 'two');
    assert.deepEqual(raw.pending('pubrel'), []);
  });
});

describe('MQTT 5 Request Problem Information [MQTT-3.1.2-29]', () => {
  test('a client asking for none gets no Reason String on acknowledgements; others do', async (t) => {
    const broker = await harness(t);
    broker.server.authorizePublish = (_client, _topic, _payload, callback) => callback(null, false);
    for (const requestProblemInformation of [true, false]) {
      const raw = await broker.raw(5);
      await raw.handshake({ properties: { requestProblemInformation } });
      raw.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
      const puback = await raw.next('puback');
      assert.equal(puback.reasonCode, 0x87);
      assert.equal(puback.properties?.reasonString !== undefined, requestProblemInformation);
    }
  });
});

/** A toy challenge-response method: the client must answer the challenge reversed. */
function challengeMethod(challenge: string) {
  return (_client: unknown, data: Buffer | undefined) => {
    if (data === undefined || data.toString() === 'hello') return { result: 'continue' as const, data: Buffer.from(challenge) };
    if (data.toString() === [...challenge].reverse().join('')) return { result: 'success' as const, data: Buffer.from('welcome') };
    return { result: 'fail' as const };
  };
}

describe('MQTT 5 enhanced authentication (AUTH)', () => {
  test('an unsupported Authentication Method: CONNACK 0x8C, then closed [MQTT-4.12.0-1]', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    const connack = await raw.handshake({ properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    assert.equal(connack.reasonCode, 0x8c);
    await raw.waitClosed();
  });

  test('AUTH from a client that named no method is a Protocol Error [MQTT-4.12.0-7]', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'X' } });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
  });

  test('a challenge and a response, then CONNACK with the method; re-authentication [MQTT-4.12.0-2] [MQTT-4.12.0-5] [MQTT-4.12.1-1]', async (t) => {
    const broker = await useBroker(t);
    broker.server.authenticationMethods['reverse'] = challengeMethod('abc');
    const raw = await broker.raw(5);
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'auth5', properties: { authenticationMethod: 'reverse', authenticationData: Buffer.from('hello') } });
    const challenge = await raw.next('auth');
    assert.equal(challenge.reasonCode, 0x18);
    assert.equal(challenge.properties?.authenticationMethod, 'reverse');
    assert.equal(challenge.properties?.authenticationData?.toString(), 'abc');
    raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'reverse', authenticationData: Buffer.from('cba') } });
    const connack = await raw.next('connack');
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.properties?.authenticationMethod, 'reverse');
    assert.equal(connack.properties?.authenticationData?.toString(), 'welcome');
    // Re-authentication: AUTH 0x19, a challenge, the response, AUTH 0x00.
    raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'reverse' } });
    assert.equal((await raw.next('auth')).reasonCode, 0x18);
    raw.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'reverse', authenticationData: Buffer.from('cba') } });
    assert.equal((await raw.next('auth')).reasonCode, 0x00);
    await raw.ping();
    // A failed re-authentication closes the connection with DISCONNECT. [MQTT-4.12.1-2]
    raw.send({ cmd: 'auth', reasonCode: 0x19, properties: { authenticationMethod: 'reverse', authenticationData: Buffer.from('wrong') } });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x87);
    await raw.waitClosed();
  });

  test('a wrong response: CONNACK 0x87 [MQTT-4.12.0-4]; a packet other than AUTH during the exchange closes [MQTT-3.1.2-30]', async (t) => {
    const broker = await useBroker(t);
    broker.server.authenticationMethods['reverse'] = challengeMethod('xyz');
    const connect = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'auth5', properties: { authenticationMethod: 'reverse' } } as const;
    const wrong = await broker.raw(5);
    wrong.send(connect);
    await wrong.next('auth');
    wrong.send({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'reverse', authenticationData: Buffer.from('xyz') } });
    assert.equal((await wrong.next('connack')).reasonCode, 0x87);
    await wrong.waitClosed();
    const impatient = await broker.raw(5);
    impatient.send(connect);
    await impatient.next('auth');
    impatient.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 0, nl: false, rap: false, rh: 0 }] });
    await impatient.waitClosed();
    assert.deepEqual(impatient.pending('suback'), []);
    await waitFor(() => !broker.server.clients['auth5'], 'no client left');
  });
});
