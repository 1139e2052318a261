/**
 * The bridge as a tree of brokers: plain MQTT clients on the parent see what the instances
 * publish under the prefix and reach every instance by publishing there; the parent's limits
 * (its maximum QoS) are what messages cross with.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { message, sleep, waitFor } from '@skynet-mqtt/contract-tests';
import { clearRetained, killMosquittos, MQTT_BRIDGE_URL, startPrivateMosquitto } from '@skynet-mqtt/test-support';
import { MqttBridgeEmitter } from '../src/index.js';
import { recorder, uniquePrefix } from './helpers.js';

const emitters: MqttBridgeEmitter[] = [];
const clients: mqtt.MqttClient[] = [];
const prefixes: string[] = [];

function bridge(options: Record<string, unknown>): MqttBridgeEmitter {
  const emitter = new MqttBridgeEmitter(options);
  emitters.push(emitter);
  return emitter;
}

async function parentClient(url: string): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, protocolVersion: 5 });
  clients.push(client);
  return client;
}

after(async () => {
  for (const emitter of emitters) await emitter.close();
  for (const client of clients) await client.endAsync(true);
  for (const prefix of prefixes) await clearRetained(MQTT_BRIDGE_URL, prefix);
  await killMosquittos();
});

describe('MQTT bridge: the parent and its clients', { timeout: 60_000 }, () => {
  test('parent clients see instance messages under the prefix, flags as published, and reach every instance once', async () => {
    const prefix = uniquePrefix('tree');
    prefixes.push(prefix);
    const a = bridge({ url: MQTT_BRIDGE_URL, prefix });
    const b = bridge({ url: MQTT_BRIDGE_URL, prefix });
    const onA = recorder();
    const onB = recorder();
    await a.subscribe('#', onA);
    await b.subscribe('#', onB);
    const watcher = await parentClient(MQTT_BRIDGE_URL);
    const seen: { topic: string; payload: string; retain: boolean }[] = [];
    watcher.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await watcher.subscribeAsync(`${prefix}/#`, { qos: 1, rap: true });

    await a.publish(message('up/x', 'from-a', 1, true));
    await waitFor(() => seen.length === 1 && onB.received.length === 1, 'the parent client and B');
    assert.deepEqual(seen, [{ topic: `${prefix}/up/x`, payload: 'from-a', retain: true }]);

    await watcher.publishAsync(`${prefix}/down/y`, 'from-parent', { qos: 1 });
    await waitFor(() => onA.received.length === 2 && onB.received.length === 2, 'down/y on both instances');
    await a.sync();
    await b.sync();
    await sleep(200);
    assert.deepEqual(onA.received.map((m) => m.topic), ['up/x', 'down/y'], 'A: its own message once (no echo), the parent one once');
    assert.deepEqual(onB.received.map((m) => m.topic), ['up/x', 'down/y']);
    assert.equal(onB.received[1]!.payload.toString(), 'from-parent');

    // The retained message the parent now holds under the prefix is never replayed as a new one.
    const c = bridge({ url: MQTT_BRIDGE_URL, prefix });
    const onC = recorder();
    await c.subscribe('#', onC);
    await c.sync();
    assert.deepEqual(onC.received, []);
  });

  test('messages cross at most at the QoS the parent allows', async () => {
    const parent = await startPrivateMosquitto({ config: ['max_qos 1'] });
    const prefix = 'capped';
    const a = bridge({ url: parent.url, prefix });
    const b = bridge({ url: parent.url, prefix });
    const onA = recorder();
    const onB = recorder();
    await a.subscribe('q/#', onA);
    await b.subscribe('q/#', onB);
    for (const qos of [0, 1, 2] as const) await a.publish(message(`q/${qos}`, String(qos), qos));
    await waitFor(() => onB.received.length === 3, 'three messages on B');
    assert.deepEqual(onB.received.map((m) => [m.topic, m.qos]), [['q/0', 0], ['q/1', 1], ['q/2', 1]]);
    assert.deepEqual(onA.received.map((m) => [m.topic, m.qos]), [['q/0', 0], ['q/1', 1], ['q/2', 2]], 'local delivery keeps the QoS');
    await b.sync();
  });

  test('MQTT 3.1.1 parents (protocolVersion 4): every instance gets each message once, through the parent', async () => {
    const prefix = uniquePrefix('v311');
    prefixes.push(prefix);
    const a = bridge({ url: MQTT_BRIDGE_URL, prefix, protocolVersion: 4 });
    const b = bridge({ url: MQTT_BRIDGE_URL, prefix, protocolVersion: 4 });
    const onA = recorder();
    const onB = recorder();
    await a.subscribe('v/+', onA);
    await b.subscribe('v/#', onB);
    for (let i = 0; i < 50; i++) await a.publish(message(`v/${i % 3}`, String(i), ((i % 3) as 0 | 1 | 2), i % 5 === 0));
    await a.sync();
    await b.sync();
    const expected = Array.from({ length: 50 }, (_, i) => String(i));
    assert.deepEqual(onA.received.map((m) => m.payload.toString()).sort(), [...expected].sort(), 'A gets its own messages once, from the parent');
    assert.deepEqual(onB.received.map((m) => m.payload.toString()).sort(), [...expected].sort());
    assert.ok(onB.received.every((m) => !m.retain), 'the retain flag does not cross a 3.1.1 parent');
    // mqtt.js hands a QoS 2 message over at PUBREL: compare QoS by payload, not by arrival order.
    for (const m of onB.received) assert.equal(m.qos, Number(m.payload.toString()) % 3, `QoS of ${m.payload.toString()}`);
  });
});
