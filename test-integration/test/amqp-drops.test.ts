/**
 * The AMQP backend drops QoS 0 messages it cannot pass to RabbitMQ (unreachable, or more than
 * `maxUnconfirmedBytes` waiting for confirms): each drop is counted with the broker's others
 * (`emitterBacklog`) and logged in a few lines whose counts add up to it, and local subscribers
 * still get every message. A broker on the shared RabbitMQ (an exchange of the run's own) with
 * `maxUnconfirmedBytes: 1`, and an mqtt.js publisher sending QoS 0 faster than confirms come back.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import mqtt from 'mqtt';
import { Server } from '@skynet-mqtt/core';
import { AMQP_URL, deleteExchanges, uniqueExchange } from '@skynet-mqtt/test-support';
import { waitFor } from './helpers/wait.js';

const exchange = uniqueExchange('drops');
after(() => deleteExchanges([exchange]));

it('QoS 0 beyond maxUnconfirmedBytes is dropped, counted as emitterBacklog and logged in a few lines; local subscribers get all', { timeout: 60_000 }, async () => {
  const lines: string[] = [];
  const logger = { warn: (m: string) => lines.push(m), info: () => undefined, error: (m: string) => lines.push(m) };
  const server = await Server.start({ port: 0, host: '127.0.0.1', logger: false, backend: { type: 'amqp', url: AMQP_URL, exchange, maxUnconfirmedBytes: 1, logger } });
  const url = `mqtt://127.0.0.1:${server.address()[0]!.port}`;
  const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  let received = 0;
  subscriber.on('message', () => received++);
  await subscriber.subscribeAsync('drops/#', { qos: 0 });
  const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });

  const count = 5_000;
  for (let i = 0; i < count; i++) publisher.publish('drops/x', `m-${i}`, { qos: 0 });
  await waitFor(() => received === count, 20_000, () => `the local subscriber got ${received} of ${count}`);
  await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
  const dropped = server.stats.droppedBy.emitterBacklog;
  assert.ok(dropped > 0, 'QoS 0 messages beyond maxUnconfirmedBytes were dropped and counted');
  await server.close();

  const dropLines = lines.filter((line) => line.includes('dropped'));
  assert.ok(dropLines.length >= 1 && dropLines.length <= 4, `logged in a few lines, not one per message:\n${dropLines.join('\n')}`);
  assert.match(dropLines[0]!, /^AMQP backend: \d+ QoS 0 message\(s\) dropped: RabbitMQ unreachable, or \d+ bytes not yet confirmed \(maxUnconfirmedBytes 1\)/);
  const logged = dropLines.map((line) => Number(/: (\d+) QoS 0/.exec(line)![1]));
  assert.equal(logged.reduce((a, b) => a + b, 0), dropped, 'every drop is in the log once closed');
});
