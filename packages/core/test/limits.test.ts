/**
 * The limits that protect the broker from its clients, each hit on purpose: broker-wide
 * maxConnections (CONNACK 3), connectionRate per listener, maxPublishRate per client (reading
 * paused, nothing lost), retained count and payload size. A healthy client is connected
 * throughout and must keep publishing and receiving.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from 'pino';
import { capturingLogger, connect, harness, payloads, roundTrip, waitFor } from './helpers.js';

/** The messages a capturing logger received at warn, as text. */
function warned(logger: ReturnType<typeof capturingLogger>): string[] {
  return logger.warnings.map((args) => String(args[1]));
}

test('maxConnections counts the whole broker: CONNECT beyond it gets CONNACK 3, a takeover of an own id does not', async (t) => {
  const logger = capturingLogger();
  const h = await harness(t, { maxConnections: 3, logger: { childOf: logger as unknown as Logger }, http: { port: 0 }, port: 0 });
  const healthy = await h.subscriber({ 'limits/healthy': 1 }, { clientId: 'healthy' });
  await h.connectRaw({ clientId: 'second' });
  // The third on the WebSocket listener: the limit is the broker's, not a listener's.
  const wsPort = h.server.address().find((a) => a.type === 'http')!.port;
  const third = await connect(`ws://127.0.0.1:${wsPort}`, { clientId: 'third' });
  t.after(() => third.end(true));

  const refused = await h.raw();
  const connack = await refused.handshake({ clientId: 'fourth' });
  assert.equal(connack.returnCode, 3, 'server unavailable');
  await refused.waitClosed();
  assert.equal(h.server.stats.refusedBy.maxConnections, 1);
  assert.ok(warned(logger).some((line) => line.includes('maxConnections reached')), 'the refusal is logged');

  // A client taking over its own id is let in: it replaces a connection.
  const again = await h.raw();
  assert.equal((await again.handshake({ clientId: 'second' })).returnCode, 0);
  await roundTrip(healthy);

  // Room again once one leaves.
  await third.end();
  await waitFor(() => h.server.stats.connected === 2, 'the third to be gone');
  const fresh = await h.raw();
  assert.equal((await fresh.handshake({ clientId: 'fifth' })).returnCode, 0);
  await roundTrip(healthy);
});

test('connectionRate closes sockets beyond a listener\'s rate at once, counts and logs them', async (t) => {
  const logger = capturingLogger();
  const h = await harness(t, { connectionRate: { rate: 0.5, burst: 3 }, logger: { childOf: logger as unknown as Logger } });
  const healthy = await h.subscriber({ 'limits/healthy': 1 });
  await h.connectRaw();
  await h.connectRaw();
  const over = await h.raw();
  await over.waitClosed();
  assert.equal(over.packets.length, 0, 'no CONNACK: the socket was closed before anything was read');
  assert.equal(h.server.stats.refusedBy.connectionRate, 1);
  assert.ok(warned(logger).some((line) => line.includes('connectionRate')), 'the refusal is logged');
  await roundTrip(healthy);
  // Tokens come back with time: 0.5 a second.
  let admitted = false;
  const deadline = Date.now() + 15_000;
  while (!admitted && Date.now() < deadline) {
    const next = await h.raw();
    await new Promise((resolve) => setTimeout(resolve, 500));
    admitted = !next.closed;
  }
  assert.ok(admitted, 'a connection is accepted again once the bucket refilled');
});

test('a listener\'s own connectionRate overrides the broker\'s, and false turns it off', async (t) => {
  const h = await harness(t, {
    connectionRate: { rate: 0.1, burst: 1 },
    interfaces: [{ type: 'mqtt', port: 0, host: '127.0.0.1', connectionRate: false }],
  });
  for (let i = 0; i < 5; i++) await h.connectRaw();
  assert.equal(h.server.stats.refusedBy.connectionRate, 0);
});

test('maxPublishRate (messages): a fast publisher is slowed by backpressure and loses nothing', async (t) => {
  const logger = capturingLogger();
  const h = await harness(t, { maxPublishRate: { messages: 50 }, logger: { childOf: logger as unknown as Logger } });
  const sub = await h.subscriber({ 'limited/#': 1 });
  const healthy = await h.subscriber({ 'limits/healthy': 1 });
  const pub = await h.connect();
  const started = Date.now();
  const sent = Array.from({ length: 150 }, (_, i) => pub.client.publishAsync('limited/m', String(i), { qos: 1 }));
  // While the fast publisher waits, another client is served as usual.
  await roundTrip(healthy);
  await Promise.all(sent);
  const elapsed = Date.now() - started;
  await waitFor(() => sub.messages.length === 150, '150 messages at the subscriber', 20_000);
  assert.deepEqual(payloads(sub, 'limited/m'), Array.from({ length: 150 }, (_, i) => String(i)), 'every message, in order');
  // 150 messages with a one-second burst of 50 at 50/s take two seconds at least.
  assert.ok(elapsed >= 1500, `the publisher was slowed (${elapsed} ms)`);
  assert.ok(h.server.stats.publishRateLimited >= 1);
  assert.ok(warned(logger).some((line) => line.includes('maxPublishRate')), 'logged');
});

test('maxPublishRate (bytes): large payloads are paced by their size', async (t) => {
  const h = await harness(t, { maxPublishRate: { bytes: 20_000 } });
  const sub = await h.subscriber({ 'bytes/#': 0 });
  const pub = await h.connect();
  const started = Date.now();
  for (let i = 0; i < 5; i++) pub.client.publish('bytes/big', Buffer.alloc(10_000, i), { qos: 0 });
  await waitFor(() => sub.messages.length === 5, 'five large messages', 20_000);
  // 50 kB at 20 kB/s after a 20 kB burst: 1.5 s at least.
  assert.ok(Date.now() - started >= 1000, 'paced');
  assert.deepEqual(sub.messages.map((m) => m.payload[0]), [0, 1, 2, 3, 4]);
  assert.ok(h.server.stats.publishRateLimited >= 1);
});

test('retained limits: beyond maxRetainedMessages or maxRetainedPayloadSize a message is delivered and not kept', async (t) => {
  const logger = capturingLogger();
  const h = await harness(t, { maxRetainedMessages: 2, maxRetainedPayloadSize: 100, logger: { childOf: logger as unknown as Logger } });
  const live = await h.subscriber({ 'kept/#': 0 });
  const pub = await h.connect();
  for (const topic of ['kept/a', 'kept/b', 'kept/c']) await pub.client.publishAsync(topic, topic, { qos: 1, retain: true });
  await pub.client.publishAsync('kept/a', Buffer.alloc(101, 1), { qos: 1, retain: true });
  await waitFor(() => live.messages.length === 4, 'every message delivered live');
  assert.equal(h.server.stats.retainedRefusedBy.count, 1);
  assert.equal(h.server.stats.retainedRefusedBy.size, 1);
  assert.ok(warned(logger).some((line) => line.includes('maxRetainedMessages')), 'the count refusal is logged');
  assert.ok(warned(logger).some((line) => line.includes('maxRetainedPayloadSize')), 'the size refusal is logged');

  const late = await h.subscriber({ 'kept/#': 0 });
  await roundTrip(late);
  // kept/a keeps its first payload: the oversized one replaced nothing.
  assert.deepEqual(
    late.messages.filter((m) => m.retain).map((m) => `${m.topic}=${m.payload.toString()}`).sort(),
    ['kept/a=kept/a', 'kept/b=kept/b'],
  );
  assert.equal(await h.server.store.countRetained(), 2);
  // Deleting one makes room.
  await pub.client.publishAsync('kept/b', '', { qos: 1, retain: true });
  await pub.client.publishAsync('kept/c', 'now', { qos: 1, retain: true });
  assert.equal(await h.server.store.countRetained(), 2);
});

test('a parent logger without isLevelEnabled (bunyan, as Mosca users had) still gets the connect and disconnect lines', async (t) => {
  const { isLevelEnabled: _omitted, ...fields } = capturingLogger();
  const logger = { ...fields, child: () => logger };
  const h = await harness(t, { logger: { childOf: logger as unknown as Logger } });
  const c = await h.connect({ clientId: 'bunyan' });
  await c.end();
  await waitFor(() => logger.infos.some((args) => args[1] === 'client disconnected'), 'the disconnect line');
  assert.ok(logger.infos.some((args) => args[1] === 'client connected'));
});

test('connect and disconnect are logged at info with the reason, refusals too', async (t) => {
  const logger = capturingLogger();
  const h = await harness(t, { logger: { childOf: logger as unknown as Logger } });
  h.server.authenticate = (_client, username) => username === 'good';
  const c = await h.connect({ clientId: 'logged', username: 'good' });
  await c.end();
  await waitFor(() => logger.infos.some((args) => args[1] === 'client disconnected'), 'the disconnect line');
  const connected = logger.infos.find((args) => args[1] === 'client connected')![0] as Record<string, unknown>;
  assert.equal(connected.clientId, 'logged');
  const disconnected = logger.infos.find((args) => args[1] === 'client disconnected')![0] as Record<string, unknown>;
  assert.deepEqual(disconnected, { clientId: 'logged', reason: 'disconnect request' });
  const raw = await h.raw();
  assert.equal((await raw.handshake({ clientId: 'bad', username: 'bad' })).returnCode, 5);
  await waitFor(() => logger.infos.some((args) => String(args[1]).startsWith('connection refused')), 'the refusal line');
  assert.equal(h.server.stats.refusedBy.notAuthorized, 1);
});

test('traffic counters: messages by QoS both ways, and bytes', async (t) => {
  const h = await harness(t);
  const sub = await h.subscriber({ 'count/#': 2 });
  const pub = await h.connect();
  const before = { ...h.server.stats, receivedByQos: [...h.server.stats.receivedByQos], sentByQos: [...h.server.stats.sentByQos] };
  for (const qos of [0, 1, 2] as const) for (let i = 0; i < 3; i++) await pub.client.publishAsync('count/x', 'abc', { qos });
  await waitFor(() => sub.messages.length === 9, 'nine messages');
  const stats = h.server.stats;
  assert.deepEqual(stats.receivedByQos.map((n, i) => n - before.receivedByQos[i]!), [3, 3, 3]);
  assert.deepEqual(stats.sentByQos.map((n, i) => n - before.sentByQos[i]!), [3, 3, 3]);
  assert.ok(stats.bytesReceived - before.bytesReceived >= 9 * 'count/x'.length);
  assert.ok(stats.bytesSent - before.bytesSent >= 9 * 'count/x'.length);
});
