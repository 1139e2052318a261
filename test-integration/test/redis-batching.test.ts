/**
 * Bursts across two real broker processes on one Redis, where the Redis Emitter adds what is
 * published meanwhile to the stream in one script call (StreamWriter, up to 1,000 messages a call)
 * and a connection's QoS 1 publishes are routed side by side (up to 128), their PUBACKs in order.
 * A publisher on B sends a burst without waiting for acknowledgements, so batches fill and their
 * boundaries are crossed; on A a connected subscriber and an offline durable session must get
 * every message once, in the order published, at QoS 1 and 2. Then the same with a PRIVATE
 * redis-server SIGKILLed by its PID in the middle of the burst and restarted: the batches out when
 * it died wait and are delivered once it is back, and nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import { killAll, killRedisServers, startPrivateRedis, TempDirs } from '@skynet-mqtt/test-support';
import { connectTo, endClients, recordMessages, startConnect, startInstances, type Received } from './helpers/cluster.js';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';
import { sleep, waitFor } from './helpers/wait.js';

const dirs = new TempDirs();
const prefixes: string[] = [];

after(async () => {
  endClients();
  await killAll();
  await killRedisServers();
  await dirs.removeAll();
  for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
});

/** Publishes `count` messages `<tag>-00000`, ... at once; resolves with the payloads in the order their acknowledgements arrived. */
function burst(client: mqtt.MqttClient, topic: string, tag: string, count: number, qos: 1 | 2): Promise<string[]> {
  const acked: string[] = [];
  return new Promise((resolve, reject) => {
    for (let i = 0; i < count; i++) {
      const payload = `${tag}-${String(i).padStart(5, '0')}`;
      client.publish(topic, payload, { qos }, (error) => {
        if (error) return reject(error);
        acked.push(payload);
        if (acked.length === count) resolve(acked);
      });
    }
  });
}

function payloads(received: Received[], topic: string): string[] {
  return received.filter((m) => m.topic === topic).map((m) => m.payload);
}

function expected(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${tag}-${String(i).padStart(5, '0')}`);
}

describe('Redis Emitter batches across two broker processes', { timeout: 240_000 }, () => {
  for (const qos of [1, 2] as const) {
    it(`a QoS ${qos} burst from one publisher arrives complete and in order, live and queued, across batch boundaries`, { timeout: 120_000 }, async () => {
      const N = qos === 1 ? 3000 : 1500;
      const prefix = uniquePrefix(`batch-q${qos}`);
      prefixes.push(prefix);
      const [a, b] = await startInstances(['a', 'b'], () => redisBackend(REDIS_URL, prefix), dirs);

      const live = await connectTo(a!.port, { clientId: `live-${qos}`, clean: true });
      const liveReceived = recordMessages(live);
      await live.subscribeAsync('burst/#', { qos });
      // A durable session that is offline during the burst: its messages are queued in the Store.
      const offline = await connectTo(a!.port, { clientId: `queued-${qos}`, clean: false });
      await offline.subscribeAsync('burst/#', { qos });
      await offline.endAsync();

      // A durable publisher, so that QoS 2 goes through Emitter.publishOnce (packet id recorded in the batch).
      const publisher = await connectTo(b!.port, { clientId: `pub-${qos}`, clean: false });
      const acked = await burst(publisher, 'burst/x', `q${qos}`, N, qos);
      assert.deepEqual(acked, expected(`q${qos}`, N), 'acknowledgements in the order published [MQTT-4.6.0-2]');

      await waitFor(() => payloads(liveReceived, 'burst/x').length >= N, 60_000, () => `live subscriber got ${payloads(liveReceived, 'burst/x').length} of ${N}`);
      const { client: back, connack } = startConnect(a!.port, { clientId: `queued-${qos}`, clean: false });
      const queuedReceived = recordMessages(back);
      assert.equal((await connack).sessionPresent, true);
      await waitFor(() => payloads(queuedReceived, 'burst/x').length >= N, 60_000, () => `queued session got ${payloads(queuedReceived, 'burst/x').length} of ${N}`);
      await sleep(500); // late duplicates, if any, would arrive now

      assert.deepEqual(payloads(liveReceived, 'burst/x'), expected(`q${qos}`, N), 'the connected subscriber on A');
      assert.deepEqual(payloads(queuedReceived, 'burst/x'), expected(`q${qos}`, N), 'the offline durable session on A');
      assert.ok(liveReceived.every((m) => m.qos === qos));
    });
  }

  it('a burst in progress when the private Redis is SIGKILLed waits and is delivered once it is back', { timeout: 120_000 }, async (t) => {
    const N = 3000;
    let redis = await startPrivateRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    const prefix = uniquePrefix('batch-fault');
    const [a, b] = await startInstances(['a', 'b'], () => redisBackend(redis.url, prefix), dirs);
    const subscriber = await connectTo(a!.port, { clientId: 'fault-sub', clean: false });
    const received = recordMessages(subscriber);
    await subscriber.subscribeAsync('fault/#', { qos: 1 });

    const publisher = await connectTo(b!.port, { clientId: 'fault-pub', clean: true });
    const acked: string[] = [];
    const all = expected('f', N);
    const done = new Promise<void>((resolve, reject) => {
      for (const payload of all) {
        publisher.publish('fault/x', payload, { qos: 1 }, (error) => {
          if (error) return reject(error);
          acked.push(payload);
          if (acked.length === N) resolve();
        });
      }
    });
    // Killed while the burst is being added: some acknowledged, the rest in batches out or queued.
    await waitFor(() => acked.length >= 200, 30_000, () => `only ${acked.length} acknowledged`);
    await redis.kill('SIGKILL');
    const ackedAtKill = acked.length;
    await sleep(200);
    const ackedWhileDown = acked.length - ackedAtKill;
    await sleep(800);
    redis = await redis.restart();
    await done;
    t.diagnostic(`acknowledged ${ackedAtKill} before the kill, ${ackedWhileDown} in the 200 ms after it`);

    assert.ok(ackedAtKill < N, 'Redis was killed before the burst was done');
    assert.deepEqual(acked, all, 'every publish acknowledged, in order');
    await waitFor(() => new Set(payloads(received, 'fault/x')).size >= N, 60_000, () => `received ${new Set(payloads(received, 'fault/x')).size} of ${N}`);
    const firsts: string[] = [];
    const seen = new Set<string>();
    for (const payload of payloads(received, 'fault/x')) {
      if (!seen.has(payload)) firsts.push(payload);
      seen.add(payload);
    }
    // At least once; the first copies in the order published (a batch re-sent after the reconnect may repeat some).
    assert.deepEqual(firsts, all);
  });
});
