/**
 * Issue 8, item 5: a topic of tens of thousands of levels (65,535 bytes of '/') made every
 * wildcard SUBSCRIBE that reached its retained message fail with "Maximum call stack size
 * exceeded", for good with `--db`. Now the tries are walked without recursion, and `maxTopicLevels`
 * (128 by default) refuses such topics at PUBLISH and SUBSCRIBE. Against the real process, with
 * its LevelDB store, with a healthy pair connected throughout.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import mqtt from 'mqtt';
import { killAll, TempDirs } from '@skynet-mqtt/test-support';
import { MB, publishFrame, RawClient, startAttackBroker, type AttackBroker } from './helpers/attack.js';
import { RssSampler, rssOf } from './helpers/broker-process.js';
import { HealthyPair } from './helpers/healthy-pair.js';
import { waitFor } from './helpers/wait.js';

const dirs = new TempDirs();
after(async () => {
  await killAll();
  await dirs.removeAll();
});

/** 65,535 bytes of '/': 65,536 empty levels. */
const DEEP = '/'.repeat(65_535);

/**
 * Subscribes to `filter` with a new client; resolves with the granted QoS and the retained topics
 * received by the time the deep one arrived (or the client was closed, or 10 s passed: a loaded
 * machine may take more than a moment to replay it).
 */
async function subscribeAndCollect(broker: AttackBroker, filter: string): Promise<{ granted: number; topics: string[]; connected: boolean }> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
  const topics: string[] = [];
  client.on('message', (topic) => topics.push(topic));
  let connected = true;
  client.on('close', () => (connected = false));
  const [grant] = await client.subscribeAsync(filter, { qos: 1 });
  await waitFor(() => topics.includes(DEEP) || !connected, 10_000, () => 'no deep message').catch(() => undefined);
  const stillConnected = connected;
  await client.endAsync(true);
  return { granted: grant!.qos, topics, connected: stillConnected };
}

it('a deep topic is refused at PUBLISH and SUBSCRIBE by default, and one already stored no longer breaks wildcard subscriptions', { timeout: 120_000 }, async () => {
  const db = join(await dirs.make('skynet-deep-'), 'db');
  // A broker told to accept deep topics stores one, as a broker before the limit did.
  const lax = await startAttackBroker(dirs, { persistence: { factory: 'level', path: db }, maxTopicLevels: 100_000 });
  const poisoner = await RawClient.connect(lax.port);
  await poisoner.handshake('poisoner');
  poisoner.socket.write(publishFrame(DEEP, Buffer.from('deep'), 1, 1, true));
  await poisoner.waitFor(0x4, 1); // PUBACK: stored
  const withDeep = await subscribeAndCollect(lax, '#');
  assert.deepEqual({ granted: withDeep.granted, connected: withDeep.connected }, { granted: 1, connected: true });
  assert.ok(withDeep.topics.includes(DEEP), 'the deep retained message is delivered');
  poisoner.destroy();
  await lax.stop();

  // Restarted on the same database with the defaults: every wildcard subscription still works.
  const broker = await startAttackBroker(dirs, { persistence: { factory: 'level', path: db } });
  const pair = await HealthyPair.start(`mqtt://127.0.0.1:${broker.port}`);
  const baseline = rssOf(broker.pid!);
  const watch = new RssSampler(broker.pid!);
  for (const filter of ['#', '+/#', '/#']) {
    const { granted, topics, connected } = await subscribeAndCollect(broker, filter);
    assert.equal(granted, 1, `SUBSCRIBE ${filter} granted`);
    assert.ok(connected, `the ${filter} subscriber stays connected`);
    assert.ok(topics.includes(DEEP), `${filter} gets the deep retained message`);
  }

  // New deep topics are refused: a PUBLISH closes its connection, a SUBSCRIBE gets 0x80.
  const attacker = await RawClient.connect(broker.port);
  await attacker.handshake('deep-publisher');
  attacker.socket.write(publishFrame(`x${'/y'.repeat(200)}`, Buffer.from('too deep'), 1, 1));
  await waitFor(() => attacker.closed, 10_000, () => 'the deep PUBLISH did not close its connection');
  assert.equal(attacker.count(0x4), 0, 'not acknowledged');
  const checker = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
  await assert.rejects(checker.subscribeAsync(`a${'/+'.repeat(200)}`), /Subscribe error/, 'SUBACK 0x80');
  assert.ok(checker.connected);
  await checker.endAsync(true);

  const growth = watch.stop() - baseline;
  await pair.finish();
  assert.ok(growth < 96 * MB, `RSS grew by ${(growth / MB).toFixed(1)} MB`);
  await broker.stop();
});
