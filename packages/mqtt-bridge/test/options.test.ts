import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigurationError } from '@skynet-mqtt/core';
import { DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_MESSAGES, DEFAULT_SESSION_EXPIRY, resolveBridgeOptions } from '../src/options.js';

const refuses = (options: Record<string, unknown>, pattern: RegExp): void => {
  assert.throws(() => resolveBridgeOptions(options), (error: unknown) => error instanceof ConfigurationError && pattern.test(error.message), JSON.stringify(options));
};

test("Mosca's { host, port, prefix }: port 1883 by default, MQTT 5 with a session the parent keeps", () => {
  const resolved = resolveBridgeOptions({ host: 'parent', prefix: 'edge' });
  assert.equal(resolved.url, 'mqtt://parent:1883');
  assert.equal(resolved.prefix, 'edge');
  assert.equal(resolved.v5, true);
  assert.equal(resolved.connect.protocolVersion, 5);
  assert.equal(resolved.connect.clean, false);
  assert.deepEqual(resolved.connect.properties, { sessionExpiryInterval: DEFAULT_SESSION_EXPIRY });
  assert.equal(resolved.connect.resubscribe, false, 'the emitter resubscribes itself');
  assert.match(resolved.connect.clientId!, /^skynet-bridge-[0-9a-f]{12}$/);
  assert.notEqual(resolveBridgeOptions({}).connect.clientId, resolved.connect.clientId, 'random per instance');
  assert.equal(resolveBridgeOptions({}).url, 'mqtt://localhost:1883');
  assert.equal(resolveBridgeOptions({}).prefix, null);
  assert.deepEqual([resolved.maxQueuedBytes, resolved.maxQueuedMessages], [DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_MESSAGES]);
  assert.deepEqual([DEFAULT_MAX_QUEUED_BYTES, DEFAULT_MAX_QUEUED_MESSAGES], [32 * 1024 * 1024, 50_000]);
});

test('maxQueuedBytes and maxQueuedMessages bound what waits for the parent', () => {
  const resolved = resolveBridgeOptions({ maxQueuedBytes: 1_000_000, maxQueuedMessages: 500 });
  assert.deepEqual([resolved.maxQueuedBytes, resolved.maxQueuedMessages], [1_000_000, 500]);
});

test('url, credentials, keepalive, clientId and mqttOptions reach mqtt.js; ours win over mqttOptions', () => {
  const resolved = resolveBridgeOptions({
    url: 'mqtts://parent:8883',
    clientId: 'edge-1',
    username: 'u',
    password: 'p',
    keepalive: 30,
    sessionExpiry: 60,
    mqttOptions: { rejectUnauthorized: false, reconnectPeriod: 250, protocolVersion: 3, properties: { receiveMaximum: 10 } },
  });
  assert.equal(resolved.url, 'mqtts://parent:8883');
  const c = resolved.connect;
  assert.deepEqual([c.clientId, c.username, c.password, c.keepalive, c.rejectUnauthorized, c.reconnectPeriod, c.protocolVersion], ['edge-1', 'u', 'p', 30, false, 250, 5]);
  assert.deepEqual(c.properties, { receiveMaximum: 10, sessionExpiryInterval: 60 });
});

test('protocolVersion 4: a clean session and no MQTT 5 properties', () => {
  const resolved = resolveBridgeOptions({ protocolVersion: 4 });
  assert.equal(resolved.v5, false);
  assert.equal(resolved.connect.clean, true);
  assert.equal(resolved.connect.properties, undefined);
});

test('bad options stop with a message naming the key', () => {
  refuses({ hots: 'x' }, /^MQTT bridge: unknown option hots: known options are url, host, port, .*; pass other mqtt.js options inside mqttOptions$/);
  refuses({ url: 'http://x' }, /option url must start with mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//);
  refuses({ url: 'mqtt://x', host: 'y' }, /give either url or host\/port, not both/);
  refuses({ port: 0 }, /option port must be an integer from 1 to 65535/);
  refuses({ prefix: 'a/#' }, /option prefix must not contain the wildcards/);
  refuses({ prefix: '' }, /option prefix must be a non-empty string/);
  refuses({ protocolVersion: 3 }, /option protocolVersion must be an integer from 4 to 5/);
  refuses({ protocolVersion: 4, sessionExpiry: 10 }, /sessionExpiry needs protocolVersion 5/);
  refuses({ mqttOptions: 'x' }, /option mqttOptions must be an object/);
  refuses({ maxQueuedBytes: 0 }, /^MQTT bridge: option maxQueuedBytes must be an integer from 1 to \d+, such as 33554432; got 0$/);
  refuses({ maxQueuedBytes: '32MB' }, /option maxQueuedBytes must be an integer/);
  refuses({ maxQueuedMessages: 70_000 }, /^MQTT bridge: option maxQueuedMessages must be an integer from 1 to 65535, such as 50000; got 70000$/);
});
