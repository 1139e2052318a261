/**
 * The example configurations of examples/ start working brokers: each is started with
 * `skynet-mqtt -c <copy>` where the copy differs from the file only in the MQTT `port` (a free one:
 * 1883 is Mosquitto's here), and a QoS 1 message goes through it (across the two ZeroMQ
 * instances). They use the services at their documented default addresses: RabbitMQ on
 * 127.0.0.1:5672, Redis on 127.0.0.1:6379 (prefix `skynet-mqtt:`, where only a clean session's
 * traffic passes), and the ZeroMQ ports 5555–5558.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { freePort, killAll, startBroker, TempDirs } from '@skynet-mqtt/test-support';
import { connectTo, endClients, recordMessages } from './helpers/cluster.js';
import { waitFor } from './helpers/wait.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const dirs = new TempDirs();

after(async () => {
  endClients();
  await killAll();
  await dirs.removeAll();
});

/** Starts examples/<name> on a free MQTT port; resolves with that port. */
async function startExample(name: string): Promise<number> {
  const options = JSON.parse(await readFile(join(EXAMPLES, name), 'utf8')) as Record<string, unknown>;
  const port = await freePort();
  const copy = join(await dirs.make('skynet-example-'), name);
  await writeFile(copy, JSON.stringify({ ...options, port }));
  await startBroker(['-c', copy], { timeoutMs: 30_000 });
  return port;
}

async function roundTrip(publishTo: number, subscribeTo: number): Promise<void> {
  const topic = `example/${process.pid}/${Date.now()}`;
  const subscriber = await connectTo(subscribeTo, { clientId: `ex-sub-${process.pid}-${publishTo}` });
  const received = recordMessages(subscriber);
  await subscriber.subscribeAsync(topic, { qos: 1 });
  const publisher = await connectTo(publishTo, { clientId: `ex-pub-${process.pid}-${publishTo}` });
  await publisher.publishAsync(topic, 'hello', { qos: 1 });
  await waitFor(() => received.length > 0, 10_000, () => 'nothing received');
  assert.deepEqual(received, [{ topic, payload: 'hello', qos: 1, retain: false }]);
}

describe('examples/ start working brokers', { timeout: 120_000 }, () => {
  it('amqp.json', { timeout: 60_000 }, async () => {
    const port = await startExample('amqp.json');
    await roundTrip(port, port);
  });

  it('zeromq-a.json and zeromq-b.json: a message published on A reaches a subscriber on B', { timeout: 60_000 }, async () => {
    const [a, b] = await Promise.all([startExample('zeromq-a.json'), startExample('zeromq-b.json')]);
    await roundTrip(a, b);
  });
});
