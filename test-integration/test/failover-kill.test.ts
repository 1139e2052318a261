/**
 * Cluster failover (issue 13): three REAL `skynet-mqtt -c <config.json>` processes on one PRIVATE
 * redis-server (a free port, stopped by its PID), then on a private three-node Redis Cluster (the
 * single-slot layout, then `shards: 3`). Durable publishers (QoS 1 and QoS 2, sequence
 * numbers) and durable subscribers (QoS 1 and QoS 2) are spread over the instances, each client
 * given all three addresses so that it reconnects to another one when its instance dies. Each
 * instance in turn is SIGKILLed at a random moment of the traffic, then started again.
 *
 * Per subscriber: every message whose publisher got PUBACK / PUBCOMP must arrive (acknowledged and
 * lost: 0), and no message published at QoS 2 may arrive twice at a QoS 2 subscription. Clients
 * with wills connected to the killed instance (one 3.1.1, one 5.0 with a Will Delay) get their will
 * published exactly once, by a survivor; those of the other instances never. The time from the
 * kill to the first will (the time to detection, liveness ttl 5 s by default) is printed.
 */
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { killAll, killRedisServers, startBroker, startPrivateRedis, startPrivateRedisCluster, TempDirs } from '@skynet-mqtt/test-support';
import { connectTo, endClients, startInstances, type Instance, type InstanceOptions } from './helpers/cluster.js';
import { redisBackend, uniquePrefix } from './helpers/redis.js';
import { sleep, waitFor, waitWhileProgressing } from './helpers/wait.js';

const dirs = new TempDirs();
const reconnecting = new Set<mqtt.MqttClient>();

/** Each run's clients, brokers and Redis servers go before the next run starts. */
async function stopEverything(): Promise<void> {
  for (const client of reconnecting) client.end(true);
  reconnecting.clear();
  endClients();
  await killAll();
  await killRedisServers();
}

afterEach(stopEverything);

after(async () => {
  await stopEverything();
  await dirs.removeAll();
});

/** The Will Delay Interval of the 5.0 will clients, in seconds. */
const WILL_DELAY_S = 2;

/** A durable client that knows every instance and moves to the next one when its own goes. */
function roaming(instances: Instance[], first: number, clientId: string, extra: mqtt.IClientOptions = {}): mqtt.MqttClient {
  // Listed from `first` on: mqtt.js tries them in order, starting again at the first after the last.
  const servers = instances.map((_, i) => instances[(first + i) % instances.length]!).map((instance) => ({ host: '127.0.0.1', port: instance.port }));
  const client = mqtt.connect({ servers, clientId, clean: false, reconnectPeriod: 100, connectTimeout: 3000, keepalive: 10, ...extra });
  client.on('error', () => undefined);
  reconnecting.add(client);
  return client;
}

function connected(client: mqtt.MqttClient): Promise<void> {
  return client.connected ? Promise.resolve() : new Promise((resolve) => client.once('connect', () => resolve()));
}

interface Publisher {
  name: string;
  qos: 1 | 2;
  acked: Set<number>;
  sent: number;
  stop: () => Promise<void>;
}

/** Publishes 1, 2, 3... on `kill/<name>`, each once the previous one is acknowledged, until stopped. */
function startPublishing(client: mqtt.MqttClient, name: string, qos: 1 | 2): Publisher {
  const publisher: Publisher = { name, qos, acked: new Set(), sent: 0, stop: async () => undefined };
  let running = true;
  const loop = (async () => {
    while (running) {
      const seq = ++publisher.sent;
      // mqtt.js keeps an unacknowledged message and sends it again (DUP) after reconnecting.
      await new Promise<void>((resolve) =>
        client.publish(`kill/${name}`, String(seq), { qos }, (error) => {
          if (!error) publisher.acked.add(seq);
          resolve();
        }),
      );
    }
  })();
  publisher.stop = async () => {
    running = false;
    await loop;
  };
  return publisher;
}

interface Subscriber {
  name: string;
  qos: 1 | 2;
  /** `<publisher>:<seq>` → copies received. */
  copies: Map<string, number>;
}

/** Three brokers on a private three-node Redis Cluster, with the key layout's options (shards) given to both adapters. */
async function onCluster(prefix: string, layout: { shards?: number } = {}): Promise<InstanceOptions> {
  const { cluster } = await startPrivateRedisCluster(3);
  return { backend: { type: 'redis', cluster, prefix, ...layout }, persistence: { factory: 'redis', cluster, prefix, ...layout } };
}

/**
 * The Redis deployments the suite runs on: one private redis-server, and a private three-node
 * Redis Cluster in the single-slot layout and with three shards (one per master).
 */
const TOPOLOGIES: { name: string; deploy: (prefix: string) => Promise<InstanceOptions> }[] = [
  { name: 'one redis-server', deploy: async (prefix) => redisBackend((await startPrivateRedis()).url, prefix) },
  { name: 'a three-node Redis Cluster', deploy: (prefix) => onCluster(prefix) },
  { name: 'a three-node Redis Cluster with shards: 3', deploy: (prefix) => onCluster(prefix, { shards: 3 }) },
];

describe('SIGKILL of broker instances under QoS 1 and 2 traffic (three CLI brokers, private Redis)', { timeout: 600_000 }, () => {
  for (const topology of TOPOLOGIES) it(`on ${topology.name}: nothing acknowledged is lost, no QoS 2 duplicate, each will once`, { timeout: 200_000 }, async (t) => {
    const options = await topology.deploy(uniquePrefix('kill'));
    const instances = await startInstances(['a', 'b', 'c'], () => options, dirs);

    // A durable watcher of the wills, on every instance in turn when its own dies.
    const willsSeen = new Map<string, number[]>();
    const watcher = roaming(instances, 1, 'will-watcher');
    watcher.on('message', (topic) => {
      const clientId = topic.slice('will/'.length);
      willsSeen.set(clientId, [...(willsSeen.get(clientId) ?? []), Date.now()]);
    });
    await connected(watcher);
    await watcher.subscribeAsync('will/#', { qos: 2 });

    const subscribers: Subscriber[] = [];
    for (const [i] of instances.entries()) {
      for (const qos of [1, 2] as const) {
        const subscriber: Subscriber = { name: `sub-q${qos}-${i}`, qos, copies: new Map() };
        const client = roaming(instances, i, subscriber.name);
        client.on('message', (topic, payload) => {
          const key = `${topic.slice('kill/'.length)}:${payload.toString()}`;
          subscriber.copies.set(key, (subscriber.copies.get(key) ?? 0) + 1);
        });
        await connected(client);
        await client.subscribeAsync('kill/#', { qos });
        subscribers.push(subscriber);
      }
    }
    const publishers: Publisher[] = [];
    for (const [i] of instances.entries()) {
      for (const qos of [1, 2] as const) {
        const client = roaming(instances, i, `pub-q${qos}-${i}`);
        await connected(client);
        publishers.push(startPublishing(client, `pub-q${qos}-${i}`, qos));
      }
    }

    const detections: number[] = [];
    const expectedWills = new Set<string>();
    const noWill = new Set<string>();
    for (const [round, victim] of instances.entries()) {
      // Clients with wills: two on the instance about to die, one on a survivor.
      const survivor = instances[(round + 1) % instances.length]!;
      const will = (clientId: string) => ({ topic: `will/${clientId}`, payload: Buffer.from('gone'), qos: 2 as const, retain: false });
      const plain = `will-${round}-${victim.id}`;
      const delayed = `will-${round}-${victim.id}-delayed`;
      const spared = `will-${round}-${survivor.id}-spared`;
      await connectTo(victim.port, { clientId: plain, keepalive: 60, will: will(plain) });
      await connectTo(victim.port, {
        clientId: delayed,
        protocolVersion: 5,
        keepalive: 60,
        properties: { sessionExpiryInterval: 60 },
        will: { ...will(delayed), properties: { willDelayInterval: WILL_DELAY_S } },
      });
      const sparedClient = await connectTo(survivor.port, { clientId: spared, keepalive: 60, will: will(spared) });
      expectedWills.add(plain).add(delayed);
      noWill.add(spared);

      // A random moment of the traffic.
      await sleep(300 + Math.floor(Math.random() * 1200));
      const killedAt = Date.now();
      await victim.broker.stop('SIGKILL');
      await waitFor(() => willsSeen.has(plain), 20_000, () => `round ${round}: no will from ${plain}`);
      detections.push(willsSeen.get(plain)![0]! - killedAt);
      victim.broker = await startBroker(victim.args);
      await waitFor(() => willsSeen.has(delayed), 20_000, () => `round ${round}: no delayed will from ${delayed}`);
      const delayedAfter = willsSeen.get(delayed)![0]! - killedAt;
      assert.ok(delayedAfter >= WILL_DELAY_S * 1000, `round ${round}: the delayed will came ${delayedAfter} ms after the kill, before its delay`);
      await sparedClient.endAsync(); // DISCONNECT, before its own instance's turn: no will
      t.diagnostic(`round ${round}: killed ${victim.id} after ${publishers.reduce((n, p) => n + p.acked.size, 0)} acknowledged messages; its will after ${detections.at(-1)} ms, the delayed one after ${delayedAfter} ms`);
    }

    for (const publisher of publishers) await publisher.stop();
    const missing = (subscriber: Subscriber): string[] =>
      publishers.flatMap((publisher) => [...publisher.acked].filter((seq) => !subscriber.copies.has(`${publisher.name}:${seq}`)).map((seq) => `${publisher.name}:${seq}`));
    // On a loaded machine the survivors may still be working off the backlog: waited for while
    // anything still arrives, so that a slow catch-up is not counted as loss but a loss still is.
    const stoppedAt = Date.now();
    const received = () => subscribers.reduce((n, s) => n + s.copies.size, 0);
    await waitWhileProgressing(() => subscribers.every((s) => missing(s).length === 0), received, 15_000, 120_000, () => '').catch(() => undefined);
    t.diagnostic(`waited ${Date.now() - stoppedAt} ms after the publishers stopped for the subscribers to catch up`);
    await sleep(500); // late duplicates

    const failures: string[] = [];
    for (const subscriber of subscribers) {
      const lost = missing(subscriber);
      // At QoS 2 end to end: a QoS 2 publisher's message to a QoS 2 subscription.
      const exactlyOnce = (key: string): boolean => subscriber.qos === 2 && key.startsWith('pub-q2-');
      const duplicates = [...subscriber.copies].filter(([key, n]) => n > 1 && exactlyOnce(key));
      const qos1Duplicates = [...subscriber.copies.values()].filter((n) => n > 1).length - duplicates.length;
      t.diagnostic(`${subscriber.name}: received ${subscriber.copies.size} distinct, acknowledged and lost ${lost.length}, QoS 2 duplicates ${duplicates.length}, QoS 1 duplicates ${qos1Duplicates}`);
      // Holes or a tail: which acknowledged messages are missing tells where to look.
      if (lost.length > 0) failures.push(`${subscriber.name} lost ${lost.length}: ${lost.slice(0, 10).join(' ')}${lost.length > 10 ? ` ... ${lost.slice(-5).join(' ')}` : ''}`);
      if (duplicates.length > 0) failures.push(`${subscriber.name} got QoS 2 messages twice: ${duplicates.slice(0, 10).map(([k, n]) => `${k}×${n}`).join(' ')}`);
    }
    for (const clientId of expectedWills) {
      const times = willsSeen.get(clientId)?.length ?? 0;
      if (times !== 1) failures.push(`the will of ${clientId} was published ${times} times`);
    }
    for (const clientId of noWill) if (willsSeen.has(clientId)) failures.push(`the will of ${clientId}, whose instance lives, was published`);
    const acked = publishers.reduce((n, p) => n + p.acked.size, 0);
    t.diagnostic(`acknowledged ${acked} messages (${publishers.map((p) => `${p.name} ${p.acked.size}`).join(', ')}); time to detection (kill to will) ${detections.join(', ')} ms`);
    assert.deepEqual(failures, []);
  });
});
