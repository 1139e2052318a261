/**
 * MQTT 5 PUBLISH: properties forwarded unchanged at every QoS, 3.1.1 <-> 5.0 conversion, Topic
 * Aliases from clients, refusals in the acknowledgement, wills with properties.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../src/index.js';
import { decodeProperties, PUBLISH_PROPERTIES } from '../src/connection/properties.js';
import { disconnect, disconnectionOf, flush, harness, roundTrip, useBroker, waitFor } from './helpers.js';

const PROPERTIES = {
  payloadFormatIndicator: true,
  contentType: 'text/plain',
  responseTopic: 'answers/here',
  correlationData: Buffer.from([0, 1, 2, 250]),
  userProperties: { unit: 'celsius', sensor: ['a', 'b'] },
};

describe('MQTT 5 properties are forwarded unchanged', () => {
  for (const qos of [0, 1, 2] as const) {
    test(`at QoS ${qos} [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]`, async (t) => {
      const broker = await harness(t);
      const subscriber = await broker.subscriber({ 'props/#': 2 }, { protocolVersion: 5 });
      const publisher = await broker.connect({ protocolVersion: 5 });
      await publisher.client.publishAsync('props/x', 'hello', { qos, properties: PROPERTIES });
      await waitFor(() => subscriber.messages.length === 1, 'the message');
      const received = subscriber.messages[0]!;
      assert.equal(received.qos, qos);
      assert.equal(received.payload.toString(), 'hello');
      assert.deepEqual({ ...received.properties, userProperties: { ...received.properties?.userProperties } }, PROPERTIES);
    });
  }

  test('User Properties keep their order, a repeated name between others included [MQTT-3.3.2-18]', async (t) => {
    const broker = await harness(t);
    const subscriber = await broker.raw(5);
    await subscriber.handshake();
    await subscriber.subscribe([{ topic: 'order', qos: 0 }]);
    const publisher = await broker.raw(5);
    await publisher.handshake();
    // a=1, b=2, a=3: mqtt-packet would regroup them by name (a=1, a=3, b=2); the bytes are written here.
    const properties = [...pair('a', '1'), ...pair('b', '2'), ...pair('a', '3')];
    const body = [0, 5, ...Buffer.from('order'), properties.length, ...properties, ...Buffer.from('x')];
    publisher.sendBytes([0x30, body.length, ...body]);
    await subscriber.next('publish');
    assert.deepEqual(lastPublishProperties(Buffer.concat(subscriber.received), 'order').userProperties, [['a', '1'], ['b', '2'], ['a', '3']]);
  });

  test('server.publish() takes properties; hooks and events see them', async (t) => {
    const broker = await harness(t);
    const seen: Record<string, unknown> = {};
    broker.server.authorizePublish = (_client, _topic, _payload, callback, message: Message) => {
      seen.authorizePublish = message.properties?.userProperties;
      callback(null, true);
    };
    broker.server.authorizeForward = (_client, message, callback) => {
      if (message.topic === 'hooked') seen.authorizeForward = message.properties?.contentType;
      callback(null, true);
    };
    broker.server.on('published', (message: Message) => {
      if (message.topic === 'hooked') seen.published = message.properties?.responseTopic;
    });
    const subscriber = await broker.subscriber({ hooked: 1, 'from/server': 1 }, { protocolVersion: 5 });
    const publisher = await broker.connect({ protocolVersion: 5 });
    await publisher.client.publishAsync('hooked', 'x', { qos: 1, properties: { contentType: 'a/b', responseTopic: 'r', userProperties: { k: 'v' } } });
    await broker.server.publish({ topic: 'from/server', payload: 'y', qos: 1, properties: { contentType: 'server/made', userProperties: [['by', 'app']] } });
    await waitFor(() => subscriber.messages.length === 2, 'both messages');
    assert.deepEqual(seen, { authorizePublish: [['k', 'v']], authorizeForward: 'a/b', published: 'r' });
    const fromServer = subscriber.messages.find((m) => m.topic === 'from/server')!;
    assert.equal(fromServer.properties?.contentType, 'server/made');
    assert.deepEqual({ ...fromServer.properties?.userProperties }, { by: 'app' });
  });

  test('a durable session offline gets its queued messages with their properties', async (t) => {
    const broker = await harness(t);
    const options = { protocolVersion: 5 as const, clientId: 'queued5', clean: false, properties: { sessionExpiryInterval: 60 } };
    const first = await broker.connect(options);
    await first.client.subscribeAsync('queued/#', { qos: 1 });
    await disconnect(broker, first);
    const publisher = await broker.connect({ protocolVersion: 5 });
    await publisher.client.publishAsync('queued/1', 'kept', { qos: 1, properties: { userProperties: { kept: 'yes' } } });
    const second = await broker.connect(options);
    await waitFor(() => second.messages.length === 1, 'the queued message');
    assert.deepEqual({ ...second.messages[0]!.properties?.userProperties }, { kept: 'yes' });
  });
});

describe('3.1.1 <-> 5.0', () => {
  test('a 5.0 message reaches a 3.1.1 subscriber without properties, and the reverse', async (t) => {
    const broker = await harness(t);
    const old = await broker.subscriber({ 'mix/#': 2 });
    const modern = await broker.subscriber({ 'mix/#': 2 }, { protocolVersion: 5 });
    const v5 = await broker.connect({ protocolVersion: 5 });
    const v3 = await broker.connect();
    for (const qos of [0, 1, 2] as const) {
      await v5.client.publishAsync(`mix/from5/${qos}`, `five${qos}`, { qos, retain: qos === 1, properties: PROPERTIES });
      await v3.client.publishAsync(`mix/from3/${qos}`, `three${qos}`, { qos });
    }
    await flush(old, v3);
    await waitFor(() => modern.messages.length === 6, 'six messages for the 5.0 subscriber');
    assert.deepEqual(old.messages.map((m) => [m.topic, m.payload.toString(), m.qos]).sort(), modern.messages.map((m) => [m.topic, m.payload.toString(), m.qos]).sort());
    assert.ok(old.messages.every((m) => m.properties === undefined), '3.1.1 has no properties');
    for (const m of modern.messages) {
      if (m.topic.startsWith('mix/from3')) assert.equal(m.properties, undefined, `${m.topic} from 3.1.1 has none`);
      else assert.equal(m.properties?.contentType, 'text/plain', `${m.topic} from 5.0 keeps them`);
    }
    // Retained from 5.0, read by a new 3.1.1 subscriber: retain flag set, no properties.
    const late = await broker.subscriber({ 'mix/from5/1': 1 });
    await waitFor(() => late.messages.length === 1, 'the retained message');
    assert.equal(late.messages[0]!.retain, true);
  });
});

describe('MQTT 5 Topic Aliases from clients', () => {
  test('an alias set with a topic is then used alone [MQTT-3.3.2-12]', async (t) => {
    const broker = await harness(t);
    const subscriber = await broker.subscriber({ 'alias/#': 1 });
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'publish', topic: 'alias/long/topic', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 3 } });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: 3 } });
    assert.equal((await raw.next('puback')).reasonCode ?? 0, 0);
    await waitFor(() => subscriber.messages.length === 2, 'two messages');
    assert.deepEqual(subscriber.messages.map((m) => `${m.topic}:${m.payload}`), ['alias/long/topic:1', 'alias/long/topic:2']);
  });

  test('alias 0 or above the maximum: DISCONNECT 0x94 [MQTT-3.3.2-8] [MQTT-3.3.2-9]', async (t) => {
    const broker = await useBroker(t, { topicAliasMaximum: 5 });
    for (const alias of [0, 6]) {
      const raw = await broker.raw(5);
      const connack = await raw.handshake();
      assert.equal(connack.properties?.topicAliasMaximum, 5);
      raw.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: alias } });
      assert.equal((await raw.next('disconnect')).reasonCode, 0x94);
      await raw.waitClosed();
    }
  });

  test('topicAliasMaximum 0 advertises none, and any alias is refused [MQTT-3.2.2-18]', async (t) => {
    const broker = await useBroker(t, { topicAliasMaximum: 0 });
    const raw = await broker.raw(5);
    assert.equal((await raw.handshake()).properties?.topicAliasMaximum, undefined);
    raw.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x94);
  });

  test('an unknown alias, or an empty topic without one, is a Protocol Error: 0x82', async (t) => {
    const broker = await useBroker(t);
    for (const properties of [{ topicAlias: 4 }, {}]) {
      const raw = await broker.raw(5);
      await raw.handshake();
      raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties });
      assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
      await raw.waitClosed();
    }
  });

  test('aliases belong to one connection [MQTT-3.3.2-7]', async (t) => {
    const broker = await useBroker(t);
    const first = await broker.raw(5);
    await first.handshake({ clientId: 'aliased' });
    first.send({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('1'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    await first.ping();
    first.close();
    const second = await broker.raw(5);
    await second.handshake({ clientId: 'aliased' });
    second.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 0, retain: false, dup: false, properties: { topicAlias: 1 } });
    assert.equal((await second.next('disconnect')).reasonCode, 0x82);
  });
});

describe('MQTT 5 PUBLISH errors', () => {
  test('a Subscription Identifier from a client is a Protocol Error [MQTT-3.3.4-6]', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { subscriptionIdentifier: 5 } });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
  });

  test('a Response Topic with a wildcard is a Protocol Error [MQTT-3.3.2-14]', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'publish', topic: 'a', payload: Buffer.from('x'), qos: 1, messageId: 2, retain: false, dup: false, properties: { responseTopic: 'r/#' } });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
  });

  test('a topic name with a wildcard: DISCONNECT 0x90', async (t) => {
    const broker = await useBroker(t);
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false, dup: false });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x90);
  });
});

describe('MQTT 5 refusals of authorizePublish are acknowledgements', () => {
  test('QoS 1: PUBACK 0x87 and the connection stays; QoS 2: PUBREC 0x87 and the id is free again [MQTT-3.4.2-1] [MQTT-3.5.2-1]', async (t) => {
    const broker = await harness(t);
    broker.server.authorizePublish = (_client, topic, _payload, callback) => callback(null, !topic.startsWith('denied'));
    const watcher = await broker.subscriber({ '#': 2 });
    const raw = await broker.raw(5);
    await raw.handshake();
    raw.send({ cmd: 'publish', topic: 'denied/1', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    const puback = await raw.next('puback');
    assert.equal(puback.reasonCode, 0x87);
    raw.send({ cmd: 'publish', topic: 'denied/2', payload: Buffer.from('x'), qos: 2, messageId: 2, retain: false, dup: false });
    assert.equal((await raw.next('pubrec')).reasonCode, 0x87);
    // The same id carries a new, allowed message at once: the refused exchange is over.
    raw.send({ cmd: 'publish', topic: 'allowed', payload: Buffer.from('ok'), qos: 2, messageId: 2, retain: false, dup: false });
    assert.equal((await raw.next('pubrec')).reasonCode ?? 0, 0);
    raw.send({ cmd: 'pubrel', messageId: 2 });
    await raw.next('pubcomp');
    await waitFor(() => watcher.messages.length === 1, 'the allowed message');
    assert.deepEqual(watcher.messages.map((m) => m.topic), ['allowed']);
  });

  test('a hook error with a reasonCode is that code (0x97 quota exceeded); 3.1.1 is still closed', async (t) => {
    const broker = await harness(t);
    broker.server.authorizePublish = () => Promise.reject(Object.assign(new Error('quota'), { reasonCode: 0x97 }));
    const v5 = await broker.connect({ protocolVersion: 5 });
    const result = await v5.client.publishAsync('q', 'x', { qos: 1 }).then(
      () => 'acknowledged',
      (error: { code?: number }) => error.code,
    );
    assert.equal(result, 0x97);
    const v3 = await broker.raw();
    await v3.handshake();
    v3.send({ cmd: 'publish', topic: 'q', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
    await v3.waitClosed();
  });
});

/** A User Property as bytes: what mqtt-packet cannot write out of order. */
const pair = (name: string, value: string) => [0x26, 0, name.length, ...Buffer.from(name), 0, value.length, ...Buffer.from(value)];
const string = (text: string) => [0, Buffer.byteLength(text), ...Buffer.from(text)];

/** The properties of the last PUBLISH on `topic` a raw client received, decoded from its bytes. */
function lastPublishProperties(bytes: Buffer, topic: string) {
  const start = bytes.lastIndexOf(Buffer.from(topic)) + Buffer.byteLength(topic);
  return decodeProperties(bytes, start, bytes.length, PUBLISH_PROPERTIES).properties;
}

describe('MQTT 5 wills', () => {
  test('keep the order of their User Properties [MQTT-3.1.3-10]', async (t) => {
    const broker = await harness(t);
    const watcher = await broker.raw(5);
    await watcher.handshake();
    await watcher.subscribe([{ topic: 'wills/ordered', qos: 0 }]);
    const willProperties = [...pair('a', '1'), ...pair('b', '2'), ...pair('a', '3')];
    // CONNECT: clean start, will flag, keepalive 0, no properties, then the will.
    const body = [...string('MQTT'), 5, 0x06, 0, 0, 0, ...string('ordered'), willProperties.length, ...willProperties, ...string('wills/ordered'), ...string('x')];
    const dying = await broker.raw(5);
    dying.sendBytes([0x10, body.length, ...body]);
    assert.equal((await dying.next('connack')).reasonCode, 0);
    const ended = disconnectionOf(broker.server, 'ordered');
    dying.close();
    await ended;
    await watcher.next('publish');
    assert.deepEqual(lastPublishProperties(Buffer.concat(watcher.received), 'wills/ordered').userProperties, [['a', '1'], ['b', '2'], ['a', '3']]);
  });

  test('carry their properties', async (t) => {
    const broker = await harness(t);
    const watcher = await broker.subscriber({ 'wills/#': 1 }, { protocolVersion: 5 });
    const dying = await broker.connect({
      protocolVersion: 5,
      clientId: 'dying5',
      will: { topic: 'wills/dying5', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { contentType: 'text/plain', userProperties: { why: 'crash' } } },
    });
    const ended = disconnectionOf(broker.server, 'dying5');
    dying.client.stream.destroy();
    await ended;
    await waitFor(() => watcher.messages.length === 1, 'the will');
    assert.equal(watcher.messages[0]!.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...watcher.messages[0]!.properties?.userProperties }, { why: 'crash' });
  });

  test('DISCONNECT 0x04 publishes the will; 0x00 discards it [MQTT-3.14.4-3]', async (t) => {
    const broker = await harness(t);
    const watcher = await broker.subscriber({ 'wills/#': 1 });
    for (const [reasonCode, clientId] of [[0x04, 'with-will'], [0x00, 'without-will']] as const) {
      const client = await broker.connect({ protocolVersion: 5, clientId, will: { topic: `wills/${clientId}`, payload: Buffer.from('bye'), qos: 1, retain: false } });
      const ended = disconnectionOf(broker.server, clientId);
      await new Promise<void>((resolve) => client.client.end(false, { reasonCode }, () => resolve()));
      await ended;
    }
    await roundTrip(watcher);
    assert.deepEqual(watcher.messages.filter((m) => m.topic.startsWith('wills/')).map((m) => m.topic), ['wills/with-will']);
  });
});
