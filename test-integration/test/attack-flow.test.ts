/**
 * Issue 8, items 1, 4 and 7, against the real `skynet-mqtt` process: a client that never reads
 * its replies, a subscriber that stops reading, and one that reads but never acknowledges (the
 * QoS 1 variant of the first, PUBACKs never read, is in core's own-socket.test.ts: here the
 * kernel's socket buffers would take most of a test's time to fill). Under
 * each attack the broker stays up, its RSS stays within a stated bound, and a well-behaved
 * publisher/subscriber pair connected throughout receives every message.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { killAll, TempDirs } from '@skynet-mqtt/test-support';
import { logLine, MB, PINGREQ, publishFrame, RawClient, startAttackBroker, type AttackBroker } from './helpers/attack.js';
import { RssSampler, rssOf } from './helpers/broker-process.js';
import { HealthyPair } from './helpers/healthy-pair.js';

const dirs = new TempDirs();
after(async () => {
  await killAll();
  await dirs.removeAll();
});

/**
 * How much the broker's RSS may grow under each attack (the limits at their defaults). Before the
 * fixes each grew without bound: by the size of what the attacker sent, or tens of times more.
 */
const REPLY_FLOOD_LIMIT = 96 * MB;
const STUCK_SUBSCRIBER_LIMIT = 96 * MB;
/** 16 MiB in flight + 16 MiB queued, plus what 400 MB of 1 MiB packets passing through leave in the allocator. */
const HOARDER_LIMIT = 160 * MB;

/** The latest value of `$SYS/<id>/<name>`, read by a client of its own. */
async function sysValue(broker: AttackBroker, name: string): Promise<number> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
  try {
    const value = new Promise<number>((resolve) => client.on('message', (_topic, payload) => resolve(Number(payload.toString()))));
    await client.subscribeAsync(`$SYS/${broker.id}/${name}`);
    return await value;
  } finally {
    await client.endAsync(true);
  }
}

/** Runs `attack` with a healthy pair publishing throughout; returns the broker's RSS growth at its peak. */
async function underAttack(broker: AttackBroker, tag: string, attack: () => Promise<void>): Promise<number> {
  const pair = await HealthyPair.start(`mqtt://127.0.0.1:${broker.port}`);
  try {
    const baseline = rssOf(broker.pid!);
    const watch = new RssSampler(broker.pid!);
    await attack();
    const peak = watch.stop();
    assert.ok((await pair.finish()) > 0, `the healthy publisher published (${tag})`);
    return peak - baseline;
  } finally {
    pair.close();
  }
}

describe('a client that never reads its replies', () => {
  it('PINGREQ flood: the broker stops reading it, stays within its memory bound, and drops it after drainTimeout', { timeout: 120_000 }, async () => {
    const broker = await startAttackBroker(dirs, { drainTimeout: 3000 });
    const attacker = await RawClient.connect(broker.port);
    let stalled = false;
    const growth = await underAttack(broker, 'ping', async () => {
      await attacker.handshake('pinger');
      attacker.stopReading();
      ({ stalled } = await attacker.flood(Buffer.concat(Array.from({ length: 32_768 }, () => PINGREQ)), 10_000, { stallMs: 1500 }));
    });
    assert.ok(stalled, 'the broker stopped reading the client that does not read its PINGRESPs');
    assert.ok(growth < REPLY_FLOOD_LIMIT, `RSS grew by ${(growth / MB).toFixed(1)} MB under the flood`);
    assert.match(await logLine(broker, 'did not drain within drainTimeout'), /"clientId":"pinger"/);
    await attacker.closedByBroker();
    await broker.stop();
  });
});

describe('a subscriber that stops reading', () => {
  it('pauses publishers at most publisherPauseTimeout, then loses its QoS 0 messages (counted) and is disconnected after drainTimeout', { timeout: 120_000 }, async () => {
    const broker = await startAttackBroker(dirs, { drainTimeout: 4000 });
    const stuck = await RawClient.connect(broker.port);
    const flooder = await RawClient.connect(broker.port);
    const growth = await underAttack(broker, 'pair', async () => {
      await stuck.handshake('stuck-reader');
      await stuck.subscribe('#', 0);
      stuck.stopReading();
      await flooder.handshake('flooder');
      const burst = Buffer.concat(Array.from({ length: 64 }, () => publishFrame('flood/x', Buffer.alloc(1024, 7))));
      await flooder.flood(burst, 4000);
    });
    assert.ok(growth < STUCK_SUBSCRIBER_LIMIT, `RSS grew by ${(growth / MB).toFixed(1)} MB`);
    assert.match(await logLine(broker, 'slow consumer'), /"clientId":"stuck-reader"/);
    assert.match(await logLine(broker, 'did not drain within drainTimeout'), /"clientId":"stuck-reader"/);
    await stuck.closedByBroker();
    assert.ok((await sysValue(broker, 'messages/dropped/slowConsumer')) > 0, 'the dropped QoS 0 messages are counted');
    assert.equal(flooder.closed, false, 'the flooding publisher is still connected');
    await broker.stop();
  });
});

describe('a subscriber that reads but never acknowledges QoS 1', () => {
  for (const clean of [true, false]) {
    it(`${clean ? 'clean' : 'durable'} session: in flight and queued bytes are bounded, the excess dropped and counted`, { timeout: 120_000 }, async () => {
      const broker = await startAttackBroker(dirs);
      const hoarder = await RawClient.connect(broker.port);
      const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0, clientId: 'big-pub' });
      const growth = await underAttack(broker, clean ? 'hoard-clean' : 'hoard-durable', async () => {
        await hoarder.handshake(`hoarder-${clean}`, { clean });
        await hoarder.subscribe('big/#', 1);
        const payload = Buffer.alloc(MB, 1);
        for (let i = 0; i < 400; i++) await publisher.publishAsync('big/x', payload, { qos: 1 });
      });
      await publisher.endAsync(true);
      assert.ok(growth < HOARDER_LIMIT, `RSS grew by ${(growth / MB).toFixed(1)} MB with 400 MB unacknowledged`);
      // What reached the hoarder stayed within the in-flight window, by bytes (16 MiB of 1 MiB messages).
      assert.ok(hoarder.count(3) <= 16, `${hoarder.count(3)} PUBLISH in flight`);
      const reason = clean ? 'queueFull' : 'offlineQueueFull';
      assert.ok((await sysValue(broker, `messages/dropped/${reason}`)) > 300, `drops counted as ${reason}`);
      await logLine(broker, clean ? 'client queue full' : 'offline queue full');
      hoarder.destroy();
      await broker.stop();
    });
  }
});
