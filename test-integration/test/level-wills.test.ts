/**
 * Issue 8, item 11: `skynet-mqtt --db PATH` killed (SIGKILL) while clients with wills are
 * connected publishes those wills when it starts again on the same database [MQTT-3.1.2-8]: their
 * network connections did close without DISCONNECT. Once only, and only theirs: a client that had
 * disconnected cleanly before the kill has no will left to publish.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type mqtt from 'mqtt';
import { freePort, killAll, startBroker, TempDirs } from '@skynet-mqtt/test-support';
import { connectTo as connect, endClients } from './helpers/cluster.js';
import { sleep, waitFor } from './helpers/wait.js';

const dirs = new TempDirs();
after(async () => {
  endClients();
  await killAll();
  await dirs.removeAll();
});

/** Connects `clientId` and collects what it receives until `ms` have passed. */
async function receiveFor(port: number, options: mqtt.IClientOptions, subscribe: string | null, ms: number): Promise<{ topic: string; payload: string; retain: boolean }[]> {
  const client = await connect(port, options);
  const got: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
  if (subscribe) await client.subscribeAsync(subscribe, { qos: 1 });
  await sleep(ms);
  await client.endAsync();
  return got;
}

it('the wills of clients connected when the broker was killed are published once when it restarts', { timeout: 60_000 }, async () => {
  const db = join(await dirs.make('skynet-wills-'), 'db');
  const port = await freePort();
  const args = ['--db', db, '--port', String(port), '--host', '127.0.0.1'];
  const broker = await startBroker(args);

  // A durable watcher, away during the restart: the QoS 1 will is queued for it.
  const watcher = await connect(port, { clientId: 'will-watcher', clean: false });
  await watcher.subscribeAsync('wills/#', { qos: 1 });
  await watcher.endAsync();

  await connect(port, { clientId: 'sensor-1', will: { topic: 'wills/sensor-1', payload: Buffer.from('offline'), qos: 1, retain: false } });
  await connect(port, { clientId: 'sensor-2', clean: false, will: { topic: 'wills/sensor-2', payload: Buffer.from('offline'), qos: 0, retain: true } });
  const polite = await connect(port, { clientId: 'polite', will: { topic: 'wills/polite', payload: Buffer.from('never'), qos: 1, retain: true } });
  await polite.endAsync(); // DISCONNECT: its will is discarded [MQTT-3.1.2-10]
  await sleep(200);
  await broker.stop('SIGKILL');

  const restarted = await startBroker(args);
  const queued = await receiveFor(port, { clientId: 'will-watcher', clean: false }, null, 1000);
  assert.deepEqual(queued.map((m) => m.topic), ['wills/sensor-1'], 'the QoS 1 will, queued for the durable watcher');
  const retained = await receiveFor(port, { clientId: 'late' }, 'wills/#', 1000);
  assert.deepEqual(retained, [{ topic: 'wills/sensor-2', payload: 'offline', retain: true }], 'the retained will, and not the discarded one');
  await waitFor(() => restarted.stdout.includes('published the wills of clients connected to a broker'), 5000, () => restarted.stdout);

  // A clean stop leaves nothing to publish, and what was published once is not published again.
  await restarted.stop('SIGTERM');
  const third = await startBroker(args);
  assert.deepEqual(await receiveFor(port, { clientId: 'will-watcher', clean: false }, null, 1000), []);
  await third.stop();
});
