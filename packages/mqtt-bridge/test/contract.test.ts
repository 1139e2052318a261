/**
 * The Emitter contract with the shared Mosquitto (MQTT_BRIDGE_URL, default mqtt://127.0.0.1:1883)
 * as the parent. Each test's emitters share a prefix of their own under this run's base, so runs
 * and tests never see each other's messages; the retained messages left under the base are
 * cleared at the end.
 */
import { after } from 'node:test';
import type { Emitter } from '@skynet-mqtt/core';
import { emitterContract } from '@skynet-mqtt/contract-tests';
import { clearRetained, MQTT_BRIDGE_URL } from '@skynet-mqtt/test-support';
import { MqttBridgeEmitter } from '../src/index.js';

const base = `skynet-test/bridge-${process.pid}-${Date.now()}`;
let count = 0;
let open = 0;
let prefix = '';

emitterContract('mqtt-bridge', async (): Promise<Emitter> => {
  // Emitters made while others are open are instances of one broker: they share the prefix.
  if (open === 0) prefix = `${base}/${++count}`;
  open++;
  const emitter = new MqttBridgeEmitter({ url: MQTT_BRIDGE_URL, prefix });
  const close = emitter.close.bind(emitter);
  let closed = false;
  emitter.close = async () => {
    if (!closed) open--;
    closed = true;
    await close();
  };
  return emitter;
});

after(async () => {
  await clearRetained(MQTT_BRIDGE_URL, base);
});
