/**
 * Mosca's API surface (issue 9, items 7 to 9): `server.stats` with Mosca's field names, timers
 * that tolerate fake timers handing out numbers (sinon's, as in Mosca's own tests), and custom
 * listener factories with a per-interface `maxConnections`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { Server, type InterfaceFactory, type ServerOptions } from '../src/index.js';
import { connect, RawClient, useBroker, waitFor } from './helpers.js';

test("server.stats has Mosca's field names beside ours: connectedClients, maxConnectedClients, publishedMessages, started, load", async (t) => {
  const broker = await useBroker(t, { stats: true, statsInterval: 50 });
  const stats = broker.server.stats;
  assert.equal(stats.connectedClients, 0);
  assert.equal(stats.publishedMessages, 0);
  assert.ok(stats.started instanceof Date);
  assert.equal(stats.started, stats.startedAt);

  const first = await broker.connect({ will: { topic: 'stats/will', payload: Buffer.from('bye'), qos: 0, retain: false } });
  const second = await broker.connect();
  await waitFor(() => stats.connectedClients === 2, 'two connected clients');
  assert.equal(stats.maxConnectedClients, 2);
  assert.equal(stats.connectedClients, stats.connected);

  await second.client.publishAsync('stats/client', 'a', { qos: 1 });
  await broker.server.publish({ topic: 'stats/host', payload: 'b' });
  first.client.stream.destroy(); // the will is published too
  await waitFor(() => stats.connectedClients === 1 && stats.publishedMessages === 3, 'a client publish, a host publish and a will counted');
  assert.equal(stats.maxConnectedClients, 2);

  // $SYS messages (the statistics themselves, the connection events) are not counted, as in Mosca.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(stats.publishedMessages, 3);
  for (const window of [stats.load.m1, stats.load.m5, stats.load.m15]) {
    assert.ok(window.connectedClients > 0, 'connections per minute, averaged');
    assert.equal(typeof window.publishedMessages, 'number');
  }
});

/**
 * Replaces the global timer functions with ones that return numbers, as sinon's fake timers do
 * (the real timers run underneath, so time still passes); returns what puts them back.
 */
function numericTimers(): () => void {
  const real = { setTimeout, setInterval, clearTimeout, clearInterval };
  const live = new Map<number, NodeJS.Timeout>();
  let next = 1;
  const fake = (schedule: typeof setTimeout | typeof setInterval, once: boolean) =>
    ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const id = next++;
      live.set(
        id,
        (schedule as (cb: () => void, ms?: number) => NodeJS.Timeout)(() => {
          if (once) live.delete(id);
          callback(...args);
        }, ms),
      );
      return id;
    }) as unknown;
  const clear = (id: unknown) => {
    const timer = live.get(id as number);
    if (timer) real.clearTimeout(timer);
    live.delete(id as number);
  };
  Object.assign(globalThis, { setTimeout: fake(real.setTimeout, true), setInterval: fake(real.setInterval, false), clearTimeout: clear, clearInterval: clear });
  return () => {
    Object.assign(globalThis, real);
    for (const timer of live.values()) real.clearTimeout(timer);
  };
}

test('timers tolerate fake timers that return numbers (Mosca tests use sinon)', async (t) => {
  const restore = numericTimers();
  t.after(restore);
  // Every timer the broker makes: keepalive/CONNECT monitor, $SYS statistics, a closing durable
  // session's wait for the Emitter, a connection's hang-up, an MQTT 5 will delay.
  const server = await Server.start({ port: 0, host: '127.0.0.1', logger: false, stats: true, statsInterval: 20 });
  const port = server.address()[0]!.port;
  const durable = await RawClient.connect(port);
  await durable.handshake({ clientId: 'fake-timers', clean: false, keepalive: 1 });
  durable.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'fake/#', qos: 1 }] } as mqttPacket.ISubscribePacket);
  await durable.next('suback');
  durable.close(); // no DISCONNECT: the session ends after the Emitter sync
  const v5 = await RawClient.connect(port, 5);
  await v5.handshake({
    clientId: 'fake-will',
    will: { topic: 'fake/will', payload: Buffer.from('later'), qos: 0, retain: false, properties: { willDelayInterval: 1 } },
  });
  v5.close();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await server.close();
});

test('interfaces: a custom listener factory (Mosca\'s (iface, fallback, server) → server) is listened on and used', async (t) => {
  const calls: { iface: unknown; fallback: unknown; server: unknown }[] = [];
  const factory: InterfaceFactory = (iface, fallback, server) => {
    calls.push({ iface, fallback, server });
    return net.createServer((socket) => server.accept(socket, `custom ${socket.remotePort}`));
  };
  const options: ServerOptions = { logger: false, host: '127.0.0.1', interfaces: [{ type: factory, port: 0 }] };
  const server = await Server.start(options);
  t.after(() => server.close());
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.server, server);
  assert.equal(calls[0]!.fallback, options);
  assert.deepEqual(calls[0]!.iface, { type: factory, port: 0, host: '127.0.0.1', credentials: undefined });
  const [address] = server.address();
  assert.equal(address!.type, 'custom');
  const client = await connect(`mqtt://127.0.0.1:${address!.port}`);
  await client.client.subscribeAsync('custom/x', { qos: 1 });
  await server.publish({ topic: 'custom/x', payload: 'through the factory', qos: 1 });
  await waitFor(() => client.messages.length === 1, 'a message through the custom listener');
  await client.end();

  const notAFunctionResult = Server.start({ logger: false, interfaces: [{ type: 'websocket' as 'mqtt', port: 0 }] });
  await assert.rejects(notAFunctionResult, /interfaces\[0\]\.type must be one of mqtt, mqtts, http, https, or a function/);
});

test('interfaces: maxConnections per interface limits that listener only', async (t) => {
  const server = await Server.start({
    logger: false,
    host: '127.0.0.1',
    maxConnections: 100,
    interfaces: [
      { type: 'mqtt', port: 0, maxConnections: 1 },
      { type: 'mqtt', port: 0 },
    ],
  });
  t.after(() => server.close());
  const [limited, open] = server.address().map((a) => a.port);
  const first = await RawClient.connect(limited!);
  await first.handshake({ clientId: 'only-one' });
  const refused = await RawClient.connect(limited!);
  await refused.waitClosed();
  const elsewhere = await Promise.all([0, 1].map(() => RawClient.connect(open!)));
  for (const [i, raw] of elsewhere.entries()) assert.equal((await raw.handshake({ clientId: `other-${i}` })).returnCode, 0);
  for (const raw of [first, ...elsewhere]) raw.close();
  await assert.rejects(Server.start({ logger: false, interfaces: [{ type: 'mqtt', port: 0, maxConnections: 0 }] }), /interfaces\[0\]\.maxConnections must be an integer >= 1, got 0/);
});
