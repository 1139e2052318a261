/**
 * Crash safety of the LevelDB store through the real command line: `skynet-mqtt --db PATH` is
 * SIGKILLed in the middle of QoS 1 traffic and restarted on the same directory and port. Every
 * message the broker acknowledged to its publisher (PUBACK) must reach the durable subscriber,
 * at least once [MQTT-4.3.2-2] [MQTT-3.1.2-5]. Duplicates are allowed at QoS 1; they are counted
 * and reported, not failed on.
 *
 *   (a) the subscriber is offline during the traffic and reconnects after the restart;
 *   (b) the subscriber is connected during the traffic: a message must arrive either before the
 *       kill or after it reconnects. Once with a prompt subscriber and default limits, once with
 *       a slow acker and a small in-flight window, so that messages wait in the broker for it.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { freePort, killAll, startBroker, TempDirs, type CliBroker } from '@skynet-mqtt/test-support';
import { waitFor } from './helpers/wait.js';

const N = 500;
/** QoS 1 publishes the publisher keeps unacknowledged at a time. */
const WINDOW = 50;
/** The broker is SIGKILLed when this many publishes are acknowledged. */
const KILL_AT = 150;
const TOPIC = 't/sigkill';

const dirs = new TempDirs();
const clients = new Set<mqtt.MqttClient>();

after(async () => {
  for (const client of clients) client.end(true);
  await killAll();
  await dirs.removeAll();
});

async function connect(port: number, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  client.on('error', () => undefined); // a killed broker is expected: the socket errors are not
  clients.add(client);
  return client;
}

function payloadOf(i: number): string {
  return `m-${String(i).padStart(4, '0')}`;
}

interface Traffic {
  /** Payloads the broker acknowledged (PUBACK reached the publisher's callback). */
  acked: Set<string>;
  /** How many distinct messages were published before the kill. */
  published: number;
}

/**
 * Publishes up to N QoS 1 messages, keeping WINDOW unacknowledged; SIGKILLs the broker once
 * KILL_AT are acknowledged, without pausing the traffic, and resolves with what was acknowledged
 * by the time the broker process is gone.
 */
async function publishAndKill(port: number, broker: CliBroker): Promise<Traffic> {
  const publisher = await connect(port, { clientId: 'sigkill-publisher', clean: true });
  const acked = new Set<string>();
  let next = 0;
  let killing: Promise<unknown> | null = null;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${acked.size} of ${next} publishes acknowledged after 30 s`)), 30_000);
    const publishOne = (): void => {
      if (next >= N) return;
      const payload = payloadOf(next++);
      publisher.publish(TOPIC, payload, { qos: 1 }, (error) => {
        if (error) return;
        acked.add(payload);
        if (!killing && acked.size >= KILL_AT) {
          killing = broker.kill().then(() => {
            clearTimeout(timer);
            resolve();
          });
        }
        // Traffic goes on while the signal lands: the broker dies with publishes in flight.
        publishOne();
      });
    };
    for (let i = 0; i < WINDOW; i++) publishOne();
  });
  // PUBACKs the broker wrote just before it died may still be in our socket: read them.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const result = { acked: new Set(acked), published: next };
  publisher.end(true);
  clients.delete(publisher);
  return result;
}

/** Counts every payload received on TOPIC by `client` into `received`. */
function record(client: mqtt.MqttClient, received: Map<string, number>): void {
  client.on('message', (topic, payload) => {
    if (topic !== TOPIC) return;
    const key = payload.toString();
    received.set(key, (received.get(key) ?? 0) + 1);
  });
}

/** Waits until every acknowledged payload was received, then for the flow to settle (duplicates). */
async function awaitAcked(acked: Set<string>, received: Map<string, number>, timeoutMs = 20_000): Promise<void> {
  const missing = (): string[] => [...acked].filter((p) => !received.has(p));
  try {
    await waitFor(() => missing().length === 0, timeoutMs, () => '');
  } catch {
    // Fall through: the assertion below names what is missing.
  }
  let total = -1;
  for (let settled = 0; settled < 5; ) {
    const now = [...received.values()].reduce((a, b) => a + b, 0);
    settled = now === total ? settled + 1 : 0;
    total = now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function check(t: TestContext, label: string, traffic: Traffic, received: Map<string, number>, receivedBeforeKill: number): void {
  const { acked, published } = traffic;
  const missing = [...acked].filter((p) => !received.has(p)).sort();
  const duplicates = [...received.values()].filter((count) => count > 1).reduce((sum, count) => sum + count - 1, 0);
  const unknown = [...received.keys()].filter((p) => !/^m-\d{4}$/.test(p) || Number(p.slice(2)) >= published);
  t.diagnostic(
    `${label}: published ${published}, acknowledged ${acked.size}, received ${received.size} distinct ` +
      `(${receivedBeforeKill} before the kill), ${duplicates} duplicates, ${missing.length} acknowledged but lost`,
  );
  // The kill really happened in the middle of the traffic.
  assert.ok(acked.size >= KILL_AT && acked.size < N, `acknowledged ${acked.size} of ${N}: the kill was not mid-traffic`);
  assert.ok(published > acked.size, `every published message (${published}) was acknowledged before the kill`);
  assert.deepEqual(unknown, [], 'received payloads that were never published');
  assert.deepEqual(
    missing,
    [],
    `${missing.length} of ${acked.size} acknowledged messages never reached the durable subscriber: ${missing.slice(0, 20).join(' ')}`,
  );
}

interface Setup {
  port: number;
  args: string[];
}

/** `--db <tmpdir>` on a free port; with `settings`, through a config file (which then carries port and host). */
async function setup(settings?: Record<string, unknown>): Promise<Setup> {
  const dir = await dirs.make('skynet-sigkill-');
  const port = await freePort();
  const db = join(dir, 'db');
  if (!settings) return { port, args: ['--port', String(port), '--host', '127.0.0.1', '--db', db, '--disable-stats'] };
  const config = join(dir, 'broker.json');
  await writeFile(config, JSON.stringify({ port, host: '127.0.0.1', stats: false, ...settings }));
  return { port, args: ['-c', config, '--db', db] };
}

async function subscribeDurably(port: number, clientId: string): Promise<mqtt.MqttClient> {
  const subscriber = await connect(port, { clientId, clean: false });
  const granted = await subscriber.subscribeAsync('t/#', { qos: 1 });
  assert.equal(granted[0]?.qos, 1);
  return subscriber;
}


/** Connects clean:false with `clientId`, recording messages from the first byte, and checks sessionPresent. */
async function resume(port: number, clientId: string, received: Map<string, number>): Promise<mqtt.MqttClient> {
  const subscriber = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, clean: false, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.add(subscriber);
  record(subscriber, received);
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    subscriber.once('connect', resolve);
    subscriber.once('error', reject);
    subscriber.once('close', () => reject(new Error('closed before CONNACK')));
  });
  subscriber.on('error', () => undefined);
  assert.equal(connack.sessionPresent, true, 'the durable session did not survive the restart');
  return subscriber;
}

describe('LevelDB store: SIGKILL of `skynet-mqtt --db` mid-traffic, then restart on the same path', { timeout: 120_000 }, () => {
  it('(a) offline durable subscriber receives every acknowledged message after the restart', async (t) => {
    const { port, args } = await setup();
    const broker = await startBroker(args);
    const clientId = 'sigkill-sub-a';
    const subscriber = await subscribeDurably(port, clientId);
    await subscriber.endAsync();
    clients.delete(subscriber);

    const traffic = await publishAndKill(port, broker);
    assert.equal((await broker.exited).signal, 'SIGKILL');

    await startBroker(args);
    const received = new Map<string, number>();
    await resume(port, clientId, received);
    await awaitAcked(traffic.acked, received);
    check(t, '(a) offline subscriber', traffic, received, 0);
  });

  async function connectedCase(t: TestContext, label: string, clientId: string, settings?: Record<string, unknown>, ackDelayMs = 0): Promise<void> {
    const { port, args } = await setup(settings);
    const broker = await startBroker(args);
    const received = new Map<string, number>();
    const subscriber = await subscribeDurably(port, clientId);
    record(subscriber, received);
    if (ackDelayMs > 0) {
      // mqtt.js sends the PUBACK once handleMessage calls back; 'message' was emitted before.
      subscriber.handleMessage = (_packet, callback) => void setTimeout(() => callback(), ackDelayMs);
    }

    const traffic = await publishAndKill(port, broker);
    assert.equal((await broker.exited).signal, 'SIGKILL');
    const receivedBeforeKill = received.size;
    subscriber.end(true);
    clients.delete(subscriber);

    await startBroker(args);
    await resume(port, clientId, received);
    await awaitAcked(traffic.acked, received);
    check(t, label, traffic, received, receivedBeforeKill);
  }

  it('(b) connected durable subscriber: every acknowledged message arrives before the kill or after reconnecting', async (t) => {
    await connectedCase(t, '(b) connected subscriber', 'sigkill-sub-b');
  });

  it('(b, slow acker) connected durable subscriber that acks slowly, small in-flight window', async (t) => {
    await connectedCase(t, '(b) slow acker', 'sigkill-sub-b-slow', { maxInflightMessages: 10 }, 10);
  });
});
