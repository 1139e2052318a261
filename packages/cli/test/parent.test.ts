/**
 * `--parent-host/--parent-port/--parent-prefix` and the bridge example config, end to end: real
 * `skynet-mqtt` processes with the shared Mosquitto (MQTT_BRIDGE_URL) as their parent, under a
 * prefix of this run's own; the retained messages left there are cleared at the end.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bannerPort, clearRetained, killAll, MQTT_BRIDGE_URL, spawnCli, TempDirs } from '@skynet-mqtt/test-support';
import { connect, nextMessage } from './helpers.js';

const parent = new URL(MQTT_BRIDGE_URL);
const prefix = `skynet-test/cli-${process.pid}-${Date.now()}`;
const dirs = new TempDirs();

after(async () => {
  await killAll();
  await dirs.removeAll();
  await clearRetained(MQTT_BRIDGE_URL, prefix);
});

async function brokerWithParent(subPrefix: string): Promise<number> {
  const flags = ['--parent-host', parent.hostname, '--parent-port', parent.port || '1883', '--parent-prefix', `${prefix}/${subPrefix}`];
  const cli = spawnCli(['-p', '0', '--host', '127.0.0.1', '--disable-stats', ...flags]);
  return bannerPort(await cli.banner());
}

test('two brokers started with the same --parent-* act as one; a client of the parent sees them under the prefix', async () => {
  const [a, b] = await Promise.all([brokerWithParent('tree'), brokerWithParent('tree')]);
  const subscriber = await connect(a);
  const publisher = await connect(b);
  const onParent = await connect(Number(parent.port || 1883), { host: parent.hostname });
  try {
    await subscriber.subscribeAsync('t/#', { qos: 1 });
    await onParent.subscribeAsync(`${prefix}/tree/t/#`, { qos: 1 });
    const received = nextMessage(subscriber, 't/x');
    const seenOnParent = nextMessage(onParent, `${prefix}/tree/t/x`);
    await publisher.publishAsync('t/x', 'through the parent', { qos: 1 });
    assert.deepEqual(await received, { payload: 'through the parent', qos: 1 });
    assert.deepEqual(await seenOnParent, { payload: 'through the parent', qos: 1 });

    const down = nextMessage(subscriber, 't/from-parent');
    await onParent.publishAsync(`${prefix}/tree/t/from-parent`, 'down the tree', { qos: 1 });
    assert.deepEqual(await down, { payload: 'down the tree', qos: 1 });
  } finally {
    await Promise.all([subscriber.endAsync(true), publisher.endAsync(true), onParent.endAsync(true)]);
  }
});

test('examples/mqtt-bridge.json starts a broker on the bridge', async () => {
  const example = JSON.parse(await readFile(new URL('../../../../examples/mqtt-bridge.json', import.meta.url), 'utf8')) as {
    port: number;
    backend: { type: string; url: string; prefix: string };
  };
  assert.equal(example.backend.type, 'mqtt');
  // Its own port and prefix here (1884 may be taken on a shared machine), the rest as written.
  const config = join(await dirs.make(), 'bridge.json');
  await writeFile(config, JSON.stringify({ ...example, port: 0, host: '127.0.0.1', backend: { ...example.backend, url: MQTT_BRIDGE_URL, prefix: `${prefix}/example` } }));
  const cli = spawnCli(['-c', config]);
  const port = bannerPort(await cli.banner());
  const client = await connect(port);
  try {
    await client.subscribeAsync('ex', { qos: 1 });
    const received = nextMessage(client, 'ex');
    await client.publishAsync('ex', 'round trip', { qos: 1 });
    assert.deepEqual(await received, { payload: 'round trip', qos: 1 });
  } finally {
    await client.endAsync(true);
  }
});
