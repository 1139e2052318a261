/**
 * Keepalive [MQTT-3.1.2-24], PINGREQ [MQTT-3.12.4-1], and the connect timeout for connections
 * that never send CONNECT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '../src/index.js';
import { recordEvents, useBroker, waitFor } from './helpers.js';

test('a client silent for 1.5 × keepalive is disconnected and its will is published', async (t) => {
  const broker = await useBroker(t);
  const disconnected = recordEvents(broker.server, ['clientDisconnected']);
  const watcher = await broker.connect();
  await watcher.client.subscribeAsync('gone/silent', { qos: 1 });
  const raw = await broker.raw();
  const will = { topic: 'gone/silent', payload: Buffer.from('timed out'), qos: 1 as const, retain: false };
  assert.equal((await raw.handshake({ clientId: 'quiet', keepalive: 1, will })).returnCode, 0);

  // [MQTT-3.1.2-24] no packet within 1.5 × 1 s: the server disconnects.
  await raw.waitClosed(3500);
  const after = raw.closedAt - raw.openedAt;
  assert.ok(after >= 1000, `closed after ${after} ms, before the keepalive had elapsed`);
  assert.deepEqual(
    disconnected.map((e) => [(e.args[0] as Client).id, e.args[1]]),
    [['quiet', 'keepalive timeout']],
  );
  await waitFor(() => watcher.messages.some((m) => m.topic === 'gone/silent'), 'the will');
  assert.equal(watcher.messages.find((m) => m.topic === 'gone/silent')!.payload.toString(), 'timed out');
});

test('PINGREQ is answered with PINGRESP and emits pingreq(client)', async (t) => {
  const broker = await useBroker(t);
  const pings = recordEvents(broker.server, ['pingreq']);
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'pinger', keepalive: 10 });
  raw.send({ cmd: 'pingreq' });
  await raw.next('pingresp'); // [MQTT-3.12.4-1]
  raw.send({ cmd: 'pingreq' });
  await raw.next('pingresp');
  assert.equal(pings.length, 2);
  for (const ping of pings) assert.equal((ping.args[0] as Client).id, 'pinger');
});

test('PINGREQ keeps a keepalive-1 client connected past its timeout', async (t) => {
  const broker = await useBroker(t);
  const raw = await broker.raw();
  await raw.handshake({ clientId: 'busy', keepalive: 1 });
  for (let i = 0; i < 6; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    raw.send({ cmd: 'pingreq' });
    await raw.next('pingresp');
  }
  assert.equal(raw.closed, false, 'still connected after 3 s of pings');
});

test('keepalive 0 never times out', async (t) => {
  const broker = await useBroker(t);
  const forever = await broker.raw();
  await forever.handshake({ clientId: 'forever', keepalive: 0 });
  // A keepalive-1 client beside it proves the monitor has run past the point it would act.
  const sentinel = await broker.raw();
  await sentinel.handshake({ clientId: 'sentinel', keepalive: 1 });
  await sentinel.waitClosed(3500);
  assert.equal(forever.closed, false);
  forever.send({ cmd: 'pingreq' });
  await forever.next('pingresp');
});

test('a connection that never sends CONNECT is closed after connectTimeout', async (t) => {
  const broker = await useBroker(t, { connectTimeout: 500 });
  const raw = await broker.raw();
  await raw.waitClosed(3000);
  const after = raw.closedAt - raw.openedAt;
  assert.ok(after >= 500, `closed after ${after} ms, before connectTimeout`);
  assert.deepEqual(raw.packets, []);
});
