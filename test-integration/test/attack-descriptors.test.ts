/**
 * Issue 8, item 2: out of file descriptors, the broker logs it once, refuses new sockets, keeps
 * serving the connections it has (its `$SYS` timer included, whose memory figures need a
 * descriptor), and accepts again once descriptors are free. The real `skynet-mqtt` process runs
 * with a descriptor limit of 128 (`ulimit -n`; room for loading its modules) instead of being made to
 * open thousands of sockets.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, it } from 'node:test';
import mqtt from 'mqtt';
import { killAll, TempDirs } from '@skynet-mqtt/test-support';
import { logLine, startLimitedBroker } from './helpers/attack.js';
import { HealthyPair } from './helpers/healthy-pair.js';
import { sleep, waitFor } from './helpers/wait.js';

const dirs = new TempDirs();
after(async () => {
  await killAll();
  await dirs.removeAll();
});

/** Opens a TCP connection that sends nothing; resolves once it is connected (or failed). */
async function idleSocket(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.resume(); // flowing, so that the broker's FIN is seen
  await new Promise((resolve) => socket.once('connect', resolve).once('error', resolve));
  return socket;
}

/** One MQTT connection attempt: the client once connected, or null if the broker refused the socket. */
async function tryConnect(port: number): Promise<mqtt.MqttClient | null> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000 });
  client.on('error', () => undefined); // a refused socket: ECONNRESET, answered by trying again
  const connected = await new Promise<boolean>((resolve) => {
    client.once('connect', () => resolve(true));
    client.once('close', () => resolve(false));
  });
  if (!connected) client.end(true);
  return connected ? client : null;
}

it('EMFILE: logged once, new sockets refused, the open ones served, accepting again once descriptors free up', { timeout: 120_000 }, async () => {
  const broker = await startLimitedBroker(dirs, 128, { stats: true, statsInterval: 100, connectTimeout: 120_000 });
  const pair = await HealthyPair.start(`mqtt://127.0.0.1:${broker.port}`);
  const idle = await Promise.all(Array.from({ length: 150 }, () => idleSocket(broker.port)));
  await waitFor(() => idle.some((socket) => socket.destroyed), 5000, () => 'no socket refused');
  assert.ok(idle.filter((socket) => !socket.destroyed).length >= 60, 'the sockets it had descriptors for stay open');
  await logLine(broker, 'out of file descriptors');
  // Several $SYS rounds (every 100 ms) while no descriptor is free.
  await sleep(1500);
  assert.equal(broker.child.exitCode, null, 'the broker is still running');
  await pair.finish();
  assert.equal(broker.stdout.split('\n').filter((line) => line.includes('out of file descriptors')).length, 1, 'logged once');

  for (const socket of idle) socket.destroy();
  // As a client would: connect again until the broker has freed descriptors and accepts.
  let late: mqtt.MqttClient | null = null;
  for (let attempt = 0; !late && attempt < 50; attempt++) {
    late = await tryConnect(broker.port);
    if (!late) await sleep(200);
  }
  assert.ok(late, 'the broker accepts connections again');
  await late.publishAsync('fd/after', 'ok', { qos: 1 });
  await late.endAsync();
  await logLine(broker, 'file descriptors available again');
  await broker.stop();
});
