/**
 * Shared subscriptions across two broker instances: 3 members on 2 instances (3.1.1 and 5.0
 * mixed) count every message exactly once at QoS 0, 1 and 2 while an ordinary subscriber gets
 * all of them; a member leaving mid-stream loses nothing that waited for it; a durable member
 * moves between instances. Run on Redis (Emitter and Store), and on AMQP with a Redis Store: the
 * design sits on the Emitter, Store and control channel, not on one backend.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { Server, type ServerOptions } from '@skynet-mqtt/core';
import { AMQP_URL, deleteExchanges, uniqueExchange } from '@skynet-mqtt/test-support';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix } from './helpers/redis.js';
import { waitFor } from './helpers/wait.js';

const prefixes: string[] = [];
const exchanges: string[] = [];
const servers: Server[] = [];
const clients: mqtt.MqttClient[] = [];

after(async () => {
  for (const client of clients) client.end(true);
  await Promise.all(servers.map((server) => server.close()));
  for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
  await deleteExchanges(exchanges);
});

type Backends = () => Pick<ServerOptions, 'backend' | 'persistence'>;

const deployments: [string, Backends][] = [
  [
    'Redis',
    () => {
      const prefix = uniquePrefix('shared');
      prefixes.push(prefix);
      return redisBackend(REDIS_URL, prefix);
    },
  ],
  [
    'AMQP with a Redis Store',
    () => {
      const prefix = uniquePrefix('shared-amqp');
      const exchange = uniqueExchange('shared');
      prefixes.push(prefix);
      exchanges.push(exchange);
      return { backend: { type: 'amqp', url: AMQP_URL, exchange }, persistence: redisBackend(REDIS_URL, prefix).persistence };
    },
  ],
];

interface Member {
  client: mqtt.MqttClient;
  payloads: string[];
}

async function connect(port: number, options: mqtt.IClientOptions = {}): Promise<Member> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  clients.push(client);
  const payloads: string[] = [];
  client.on('message', (_topic, payload) => payloads.push(payload.toString()));
  client.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { client, payloads };
}


/** Until every instance has heard of the others' members of `group` (their announcements). */
async function converged(instances: Server[], group: string, members: number): Promise<void> {
  const known = (server: Server) => {
    const g = server.shared.groups.get(group);
    if (!g) return 0;
    let count = g.local.length;
    for (const remote of g.remote.values()) count += remote.count;
    return count;
  };
  await waitFor(() => instances.every((server) => known(server) === members), 30_000, () => `every instance to know the ${members} members of ${group}`);
}

/** How often each payload arrived at the members together. */
function tally(members: Member[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of members) for (const payload of member.payloads) counts.set(payload, (counts.get(payload) ?? 0) + 1);
  return counts;
}

for (const [name, backends] of deployments) {
  describe(`shared subscriptions on two instances: ${name}`, () => {
    async function twoInstances(): Promise<[Server, Server]> {
      const options = backends();
      const started = await Promise.all(['a', 'b'].map((id) => Server.start({ id: `${id}-${process.pid}-${servers.length}`, port: 0, host: '127.0.0.1', logger: false, ...options })));
      servers.push(...started);
      return started as [Server, Server];
    }
    const port = (server: Server) => server.address()[0]!.port;

    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos}: 3 members on 2 instances (3.1.1 and 5.0) get every message exactly once; an ordinary subscriber gets every one`, async () => {
        const [a, b] = await twoInstances();
        const group = `$share/workers/jobs${qos}/#`;
        const members = [await connect(port(a)), await connect(port(a), { protocolVersion: 5 }), await connect(port(b), { protocolVersion: 5 })];
        for (const member of members) await member.client.subscribeAsync(group, { qos: 2 });
        const ordinary = await connect(port(b));
        await ordinary.client.subscribeAsync(`jobs${qos}/#`, { qos: 2 });
        await converged([a, b], group, 3);
        const publishers = [await connect(port(a)), await connect(port(b), { protocolVersion: 5 })];
        const count = 90;
        await Promise.all(
          publishers.map(async (publisher, p) => {
            for (let i = p; i < count; i += 2) await publisher.client.publishAsync(`jobs${qos}/${i % 3}`, `j${i}`, { qos });
          }),
        );
        await waitFor(() => ordinary.payloads.length === count, 30_000, () => `all ${count} at the ordinary subscriber`);
        await waitFor(() => tally(members).size === count, 30_000, () => `all ${count} at the members`);
        // Anything late would show up now.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const counts = tally(members);
        assert.equal(counts.size, count);
        assert.deepEqual([...counts.entries()].filter(([, n]) => n !== 1), [], 'no message reached two members');
        for (const [i, member] of members.entries()) assert.ok(member.payloads.length > 0, `member ${i} got some`);
        assert.equal(ordinary.payloads.length, count);
      });
    }

    test('a member leaving mid-stream: what waited for it goes to the members on the other instance; QoS 1 in flight is sent again', async () => {
      const [a, b] = await twoInstances();
      const group = '$share/g/stream';
      const stayers = [await connect(port(a)), await connect(port(a), { protocolVersion: 5 })];
      for (const member of stayers) await member.client.subscribeAsync(group, { qos: 1 });
      // A 5.0 member on b that never acknowledges (nor reads past its first message): 2 in flight, the rest waits.
      const seen: string[] = [];
      const leaver = await connect(port(b), { protocolVersion: 5, properties: { receiveMaximum: 2 }, customHandleAcks: (_topic, message) => void seen.push(message.toString()) });
      await leaver.client.subscribeAsync(group, { qos: 1 });
      await converged([a, b], group, 3);
      const publisher = await connect(port(a));
      const count = 60;
      for (let i = 0; i < count; i++) await publisher.client.publishAsync('stream', `s${i}`, { qos: 1 });
      await waitFor(() => seen.length > 0, 30_000, () => 'messages in flight to the member that will leave');
      await waitFor(() => tally(stayers).size >= count - 20 - 2, 30_000, () => 'the stayers\' share');
      leaver.client.end(true);
      await waitFor(() => tally(stayers).size === count, 30_000, () => `all ${count} at the members that stayed`);
      const counts = tally(stayers);
      assert.deepEqual([...counts.entries()].filter(([, n]) => n !== 1), [], 'each once among the members that stayed');
      for (const payload of seen) assert.ok(counts.has(payload), `${payload}, in flight to the member that left, sent again`);
    });

    test('a durable member moves between instances: messages queued while no member was connected reach it on the other one', async () => {
      const [a, b] = await twoInstances();
      const group = '$share/g/moves';
      const options = { clientId: `mover-${process.pid}-${servers.length}`, clean: false, protocolVersion: 5 as const, properties: { sessionExpiryInterval: 60 } };
      const first = await connect(port(a), options);
      await first.client.subscribeAsync(group, { qos: 1 });
      await new Promise<void>((resolve) => first.client.end(false, {}, () => resolve()));
      await waitFor(() => !a.shared.active, 30_000, () => 'the member to have left instance a');
      const publisher = await connect(port(b));
      for (let i = 0; i < 5; i++) await publisher.client.publishAsync('moves', `q${i}`, { qos: 1 });
      const back = await connect(port(b), options);
      await waitFor(() => back.payloads.length === 5, 30_000, () => 'the queued messages on the other instance');
      assert.deepEqual(back.payloads, ['q0', 'q1', 'q2', 'q3', 'q4']);
      // Its membership came from the Store: it is a member on b now.
      await converged([a, b], group, 1);
      await publisher.client.publishAsync('moves', 'live', { qos: 1 });
      await waitFor(() => back.payloads.includes('live'), 30_000, () => 'a live message');
    });
  });
}
