/**
 * Device security end to end, with the real `skynet-mqtt` command for the brokers and for every
 * `device ...` operation: once on the memory store (the CLI goes through the broker's admin API)
 * and once on two instances sharing Redis (the CLI writes the Store and notifies the brokers over
 * the control channel). The scenario of issue 10's Tests section, in order.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type mqtt from 'mqtt';
import { freePort, killAll, runCli, startBroker, TempDirs, type CliBroker } from '@skynet-mqtt/test-support';
import { endClients, recordMessages, startConnect, type Received } from './helpers/cluster.js';
import { deletePrefix, REDIS_URL, redisBackend, uniquePrefix, withRedis } from './helpers/redis.js';
import { sleep, waitFor } from './helpers/wait.js';

const SECRET = `it-secret-${process.pid}-${'x'.repeat(32)}`;
const dirs = new TempDirs('skynet-device-it-');
const prefixes: string[] = [];

after(async () => {
  endClients();
  await killAll();
  await dirs.removeAll();
  for (const prefix of prefixes) await deletePrefix(REDIS_URL, prefix);
});

interface Deployment {
  brokers: CliBroker[];
  config: string;
  /** Environment of the CLI's device commands. */
  env: NodeJS.ProcessEnv;
  admin: { name: string; secret: string };
}

/** `skynet-mqtt device ...args -c config`: the JSON lines it printed. */
async function device(d: Deployment, ...args: string[]): Promise<Record<string, unknown>[]> {
  const result = await runCli(['device', ...args, '-c', d.config], { env: d.env, timeoutMs: 30_000 });
  assert.equal(result.code, 0, `device ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function connect(port: number, username?: string, password?: string, clientId?: string): Promise<{ client: mqtt.MqttClient; received: Received[] }> {
  const { client, connack } = startConnect(port, { username, password, clientId });
  const received = recordMessages(client);
  await connack;
  return { client, received };
}

function topicAndPayload(message: Received | undefined): { topic?: string; payload?: string } {
  return { topic: message?.topic, payload: message?.payload };
}

async function connackCode(port: number, username: string, password: string): Promise<number> {
  return connect(port, username, password).then(
    ({ client }) => (client.end(true), 0),
    (error: { code?: number }) => error.code ?? -1,
  );
}

async function adminIdentity(): Promise<{ name: string; secret: string; secretHash: string }> {
  const result = await runCli(['device', 'admin-secret', 'provisioner']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { name: string; secret: string; secretHash: string };
}

async function startDeployment(kind: 'memory' | 'redis'): Promise<Deployment & { prefix?: string }> {
  const dir = await dirs.make();
  const admin = await adminIdentity();
  const env = { SKYNET_MQTT_SECRET: SECRET, SKYNET_MQTT_ADMIN: `${admin.name}:${admin.secret}` };
  const prefix = kind === 'redis' ? uniquePrefix('device') : undefined;
  if (prefix) prefixes.push(prefix);
  const adminPort = await freePort();
  const configFor = (id: string, port: number) => ({
    id,
    port,
    host: '127.0.0.1',
    ...(prefix ? redisBackend(REDIS_URL, prefix) : {}),
    deviceAuth: { admins: [{ name: admin.name, secretHash: admin.secretHash }], ...(kind === 'memory' && { admin: { port: adminPort } }) },
  });
  const ids = kind === 'redis' ? ['d1', 'd2'] : ['mem'];
  const configs = await Promise.all(
    ids.map(async (id) => {
      const path = join(dir, `${id}.json`);
      await writeFile(path, JSON.stringify(configFor(id, await freePort())));
      return path;
    }),
  );
  // debug logs: the search for tokens covers everything the broker can log.
  const brokers = await Promise.all(configs.map((config) => startBroker(['-c', config, '--very-verbose'], { env, timeoutMs: 30_000 })));
  return { brokers, config: configs[0]!, env, admin: { name: admin.name, secret: admin.secret }, prefix };
}

/** Every key under `prefix` and every value, as text: where a token in clear would show. */
async function redisDump(prefix: string): Promise<string> {
  return withRedis(REDIS_URL, async (redis) => {
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        parts.push(key);
        const type = await redis.type(key);
        const values: Buffer[] =
          type === 'string' ? [(await redis.getBuffer(key))!]
          : type === 'hash' ? Object.values(await redis.hgetallBuffer(key))
          : type === 'list' ? await redis.lrangeBuffer(key, 0, -1)
          : type === 'set' ? await redis.smembersBuffer(key)
          : type === 'zset' ? await redis.zrangeBuffer(key, 0, -1)
          : type === 'stream' ? (await redis.xrangeBuffer(key, '-', '+')).flatMap(([, fields]) => fields)
          : [];
        parts.push(...values.map((v) => v.toString('latin1')));
      }
    } while (cursor !== '0');
    return parts.join('\n');
  });
}

function scenario(kind: 'memory' | 'redis'): void {
  it(`register, message, broadcast, refused subscriptions, reset while connected, brute force, no token in clear (${kind})`, { timeout: 240_000 }, async () => {
    const d = await startDeployment(kind);
    const [one, two = d.brokers[0]!] = d.brokers;
    const watchers = await Promise.all(d.brokers.map(async (b) => {
      const w = await connect(b.port, d.admin.name, d.admin.secret, `watch-${b.port}`);
      await w.client.subscribeAsync('$SYS/#');
      return w;
    }));

    // 1. Three devices, provisioned with the CLI.
    const [a] = await device(d, 'register', '--whitelists', JSON.stringify({ message: { from: [{ uuid: '*' }] } }), '--meta', '{"name":"a"}');
    const [b] = await device(d, 'register');
    const [c] = await device(d, 'register');
    const tokens = [a!.token, b!.token, c!.token] as string[];
    const [A, B, C] = [a!.uuid, b!.uuid, c!.uuid] as string[];
    await device(d, 'update', C, '--whitelists', JSON.stringify({ broadcast: { sent: [{ uuid: A }] } }));
    assert.equal((await device(d, 'list')).length, 3);

    // 2. Connected: A and B on one instance, C on the other.
    const onA = await connect(one.port, A, tokens[0], 'dev-a');
    const onB = await connect(one.port, B, tokens[1], 'dev-b');
    const onC = await connect(two.port, C, tokens[2], 'dev-c');
    for (const [conn, uuid] of [[onA, A], [onB, B], [onC, C]] as const) await conn.client.subscribeAsync(uuid, { qos: 1 });

    // 3. message to an allowed (A) and a refusing (B) target, with a forged fromUuid.
    const body = { devices: [A, B], topic: 'greeting', payload: { text: 'hello' }, fromUuid: B };
    await onC.client.publishAsync('message', JSON.stringify(body), { qos: 1 });
    await waitFor(() => onA.received.length === 1, 10_000, () => 'A did not get the message');
    assert.deepEqual(topicAndPayload(onA.received[0]), { topic: A, payload: JSON.stringify({ topic: 'message', data: { ...body, fromUuid: C } }) });

    // 4. Broadcasts: A is on C's broadcast.sent, B is not; B has no broadcast.sent at all.
    await onA.client.subscribeAsync(`${C}_bc`, { qos: 1 });
    await assert.rejects(onB.client.subscribeAsync(`${C}_bc`), 'SUBACK 0x80 for B');
    await onC.client.publishAsync('message', JSON.stringify({ devices: '*', payload: 'to all' }), { qos: 1 });
    await onB.client.publishAsync('message', JSON.stringify({ devices: '*', payload: 'unheard' }), { qos: 1 });
    await waitFor(() => onA.received.length === 2, 10_000, () => 'A did not get the broadcast');
    assert.deepEqual(topicAndPayload(onA.received[1]), { topic: `${C}_bc`, payload: JSON.stringify({ topic: 'message', data: { devices: '*', payload: 'to all', fromUuid: C } }) });

    // 5. # and another device's topic: SUBACK 0x80.
    for (const filter of ['#', A]) await assert.rejects(onC.client.subscribeAsync(filter), `SUBACK 0x80 for ${filter}`);

    // 6. A's token reset with the CLI while A is connected (to the instance the CLI did not talk to).
    const dropped = new Promise<number>((resolve) => onA.client.once('close', () => resolve(Date.now())));
    const [reset] = await device(d, 'reset-token', A);
    const answered = Date.now();
    assert.ok((await dropped) - answered <= 1000, 'the connection dropped within 1 s of the reset');
    assert.equal(await connackCode(two.port, A, tokens[0]!), 5, 'the old token is refused');
    assert.equal(await connackCode(two.port, A, reset!.token as string), 0, 'the new token works');
    tokens.push(reset!.token as string);
    await sleep(300);
    assert.equal(onB.received.length, 0, 'B got nothing: it admits nobody, subscribed to no broadcast');

    // 7. Brute force against B on one instance: never lets one in, then refuses even the right token.
    const codes: number[] = [];
    for (let i = 0; i < 15; i++) codes.push(await connackCode(one.port, B, `guess-${i}-${'a'.repeat(43)}`));
    assert.deepEqual(codes, Array(15).fill(5));
    assert.equal(await connackCode(one.port, B, tokens[1]!), 5, 'blocked: refused without looking at the token');

    // 8. No token in clear: logs (debug), $SYS, Redis.
    await waitFor(() => watchers.some((w) => w.received.some((m) => m.topic.endsWith('/auth/reset'))), 10_000, () => 'no $SYS reset event');
    assert.ok(watchers[0]!.received.some((m) => m.topic.endsWith('/auth/failures')), 'failures are published on $SYS');
    const places: [string, string][] = [
      ...d.brokers.map((broker, i): [string, string] => [`broker ${i} logs`, broker.stdout + broker.stderr]),
      ['$SYS', watchers.flatMap((w) => w.received.map((m) => `${m.topic} ${m.payload}`)).join('\n')],
    ];
    if (d.prefix) places.push(['Redis', await redisDump(d.prefix)]);
    for (const [where, text] of places) {
      assert.ok(text.length > 0, `${where}: nothing to search`);
      for (const token of tokens) assert.ok(!text.includes(token), `a token in clear in ${where}`);
    }
  });
}

describe('device security through the CLI', { timeout: 600_000 }, () => {
  scenario('memory');
  scenario('redis');
});
