/**
 * MQTT 5 across two broker instances sharing one Redis (Emitter and Store, under a key prefix of
 * this run): properties and expiry cross instances, sessions expire by their own interval wherever
 * the client comes back, and a delayed will is cancelled by a reconnect to the other instance.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { Server } from '@skynet-mqtt/core';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const prefixes: string[] = [];
const servers: Server[] = [];
const clients: mqtt.MqttClient[] = [];

after(async () => {
  for (const client of clients) client.end(true);
  await Promise.all(servers.map((server) => server.close()));
  for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
});

/** Two in-process brokers on one Redis prefix; their MQTT ports. */
async function twoInstances(): Promise<[number, number]> {
  const prefix = uniquePrefix('mqtt5');
  prefixes.push(prefix);
  const started = await Promise.all(
    ['a', 'b'].map((id) => Server.start({ id: `${id}-${prefix.length}`, port: 0, host: '127.0.0.1', logger: false, ...redisBackend(REDIS_URL, prefix) })),
  );
  servers.push(...started);
  return [started[0]!.address()[0]!.port, started[1]!.address()[0]!.port];
}

interface Connected {
  client: mqtt.MqttClient;
  connack: mqtt.IConnackPacket;
  messages: mqtt.IPublishPacket[];
}

async function connect(port: number, options: mqtt.IClientOptions): Promise<Connected> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 5, ...options });
  clients.push(client);
  const messages: mqtt.IPublishPacket[] = [];
  client.on('message', (_topic, _payload, packet) => messages.push(packet));
  client.on('error', () => undefined);
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { client, connack, messages };
}


const end = (c: Connected) => new Promise<void>((resolve) => c.client.end(false, {}, () => resolve()));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('MQTT 5 on two instances sharing Redis', () => {
  test('properties and the reduced expiry interval cross instances, queued ones included', async () => {
    const [a, b] = await twoInstances();
    const live = await connect(b, {});
    await live.client.subscribeAsync('x5/#', { qos: 1 });
    const durable = { clientId: 'x5-durable', clean: false, properties: { sessionExpiryInterval: 60 } };
    const offline = await connect(b, durable);
    await offline.client.subscribeAsync('x5/#', { qos: 1 });
    await end(offline);
    await sleep(200);
    const publisher = await connect(a, {});
    const properties = { contentType: 'text/plain', messageExpiryInterval: 60, userProperties: { site: 'north' } };
    await publisher.client.publishAsync('x5/one', 'payload', { qos: 1, properties });
    await waitFor(() => live.messages.length === 1, 30_000, () => 'the live message on the other instance');
    assert.equal(live.messages[0]!.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...live.messages[0]!.properties?.userProperties }, { site: 'north' });
    await sleep(1100);
    const back = await connect(a, durable);
    assert.equal(back.connack.sessionPresent, true);
    await waitFor(() => back.messages.length === 1, 30_000, () => 'the queued message');
    assert.equal(back.messages[0]!.properties?.contentType, 'text/plain');
    const interval = back.messages[0]!.properties?.messageExpiryInterval ?? 0;
    assert.ok(interval >= 1 && interval < 60, `interval reduced by the wait: ${interval}`);
  });

  test('a session expires by its own interval, whichever instance the client comes back to', async () => {
    const [a, b] = await twoInstances();
    const options = { clientId: 'x5-expiring', clean: false, properties: { sessionExpiryInterval: 1 } };
    const first = await connect(a, options);
    await first.client.subscribeAsync('x5e/#', { qos: 1 });
    await end(first);
    await sleep(200);
    const within = await connect(b, options);
    assert.equal(within.connack.sessionPresent, true);
    await end(within);
    await sleep(1500);
    const late = await connect(a, options);
    assert.equal(late.connack.sessionPresent, false);
  });

  test('a delayed will is cancelled by a reconnect to the other instance [MQTT-3.1.3-9]', async () => {
    const [a, b] = await twoInstances();
    const watcher = await connect(a, {});
    await watcher.client.subscribeAsync('x5w/#', { qos: 1 });
    const options = {
      clientId: 'x5-will',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: 'x5w/gone', payload: Buffer.from('late'), qos: 1 as const, retain: false, properties: { willDelayInterval: 1 } },
    };
    const dying = await connect(a, options);
    dying.client.stream.destroy();
    await sleep(300);
    await connect(b, { ...options, will: undefined });
    await sleep(1500);
    await watcher.client.publishAsync('x5w/sentinel', 's', { qos: 1 });
    await waitFor(() => watcher.messages.some((m) => m.topic === 'x5w/sentinel'), 30_000, () => 'the sentinel');
    assert.deepEqual(watcher.messages.filter((m) => m.topic === 'x5w/gone'), []);
  });

  test("No Local holds for a durable session's QoS 2 publishes, which go through the Emitter's exactly-once path [MQTT-3.8.3-3]", async () => {
    const [a, b] = await twoInstances();
    const durable = { clientId: 'x5-nolocal', clean: false, properties: { sessionExpiryInterval: 60 } };
    const self = await connect(a, durable);
    await self.client.subscribeAsync('x5n/#', { qos: 2, nl: true });
    const other = await connect(b, {});
    await other.client.subscribeAsync('x5n/#', { qos: 2 });
    await self.client.publishAsync('x5n/mine', 'once', { qos: 2 });
    await other.client.publishAsync('x5n/theirs', 'back', { qos: 2 });
    await waitFor(() => self.messages.some((m) => m.topic === 'x5n/theirs'), 30_000, () => "the other client's message");
    await waitFor(() => other.messages.some((m) => m.topic === 'x5n/mine'), 30_000, () => 'the message on the other instance');
    assert.deepEqual(self.messages.map((m) => m.topic), ['x5n/theirs'], 'not its own message back');
    assert.equal(other.messages.filter((m) => m.topic === 'x5n/mine').length, 1, 'exactly once');
  });
});
