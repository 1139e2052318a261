import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { bannerPort, killAll, spawnCli } from '@skynet-mqtt/test-support';
import { connect } from './helpers.js';

let dir: string | undefined;
after(async () => {
  await killAll();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function startBroker(db: string) {
  const cli = spawnCli(['--db', db, '-p', '0', '--host', '127.0.0.1']);
  return { cli, port: bannerPort(await cli.banner()) };
}

async function stop(cli: ReturnType<typeof spawnCli>): Promise<void> {
  cli.child.kill('SIGTERM');
  assert.deepEqual(await cli.exited, { code: 0, signal: null }, cli.stderr);
}

test('--db: a durable session and its queued QoS 1 message survive a restart', async () => {
  dir = await mkdtemp(join(tmpdir(), 'skynet-cli-db-'));
  const db = join(dir, 'db');
  const sessionOptions = { clientId: 'cli-durable', clean: false, reconnectPeriod: 0, connectTimeout: 5000 } as const;

  const first = await startBroker(db);
  const subscriber = await connect(first.port, sessionOptions);
  await subscriber.subscribeAsync('cli/db', { qos: 1 });
  await subscriber.endAsync();
  const publisher = await connect(first.port);
  await publisher.publishAsync('cli/db', 'kept across restarts', { qos: 1 });
  await publisher.endAsync();
  await stop(first.cli);

  const second = await startBroker(db);
  // The handler goes on before CONNECT: the queued message may follow CONNACK in the same chunk.
  const client = mqtt.connect(`mqtt://127.0.0.1:${second.port}`, sessionOptions);
  try {
    const message = new Promise<{ topic: string; payload: string; qos: number }>((resolve) =>
      client.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), qos: packet.qos })),
    );
    const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    assert.equal(connack.sessionPresent, true);
    assert.deepEqual(await message, { topic: 'cli/db', payload: 'kept across restarts', qos: 1 });
  } finally {
    await client.endAsync(true);
    await stop(second.cli);
  }
});
