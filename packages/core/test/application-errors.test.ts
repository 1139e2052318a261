/**
 * Exceptions from application code (issue 9, bug 5): an event listener, a hook or a callback
 * that throws is an application bug. It is logged at `error` with its stack and emitted on the
 * server's `error` event when something listens, and it never costs a client its connection for
 * a listener's fault; a throwing authorization hook refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server } from '../src/index.js';
import { capturingLogger, connect, roundTrip, waitFor, type TestClient } from './helpers.js';

/** A broker whose log is captured, with every mqtt.js client it hands out ended at the end. */
async function brokerWithLog(t: import('node:test').TestContext) {
  const logger = capturingLogger();
  const server = await Server.start({ port: 0, host: '127.0.0.1', logger: { childOf: logger } });
  const url = `mqtt://127.0.0.1:${server.address()[0]!.port}`;
  const clients: TestClient[] = [];
  const reported: Error[] = [];
  server.on('error', (error: Error) => reported.push(error));
  t.after(async () => {
    await Promise.all(clients.map((c) => c.end(true)));
    await server.close();
  });
  return {
    server,
    logger,
    reported,
    async connect(options: Parameters<typeof connect>[1] = {}) {
      const client = await connect(url, options);
      clients.push(client);
      return client;
    },
    /** The stacks logged at `error`, with what the log line says threw. */
    loggedErrors(): { message: string; stack: string }[] {
      return logger.errors.map(([fields, message]) => ({ message: String(message), stack: String((fields as { err?: Error }).err?.stack) }));
    },
  };
}

test('a published listener that throws: the publisher stays connected and gets its PUBACK, the others still hear it, the bug is reported', async (t) => {
  const b = await brokerWithLog(t);
  const heard: string[] = [];
  b.server.on('published', () => {
    throw new Error('listener bug');
  });
  b.server.on('published', (packet: { topic: string }) => heard.push(packet.topic));
  const subscriber = await b.connect();
  await subscriber.client.subscribeAsync('app/#', { qos: 1 });
  const publisher = await b.connect();
  let closed = false;
  publisher.client.on('close', () => (closed = true));
  await publisher.client.publishAsync('app/q1', 'one', { qos: 1 });
  await publisher.client.publishAsync('app/q0', 'zero', { qos: 0 });
  await waitFor(() => subscriber.messages.length === 2, 'both messages delivered');
  await roundTrip(publisher);
  assert.equal(closed, false, 'the publisher was disconnected for a listener\'s fault');
  assert.ok(heard.includes('app/q1') && heard.includes('app/q0'), 'the next listener still ran');
  const bugs = b.reported.filter((e) => e.message === 'listener bug');
  assert.ok(bugs.length >= 2, 'emitted on error');
  const logged = b.loggedErrors().filter((l) => l.message.includes("a 'published' listener threw"));
  assert.ok(logged.length >= 2);
  assert.match(logged[0]!.stack, /listener bug\n\s+at /, 'logged with its stack');
});

test('an authorizePublish hook that throws refuses (3.1.1 closes the connection) and is reported; one that calls back an error refuses silently', async (t) => {
  const b = await brokerWithLog(t);
  const subscriber = await b.connect();
  await subscriber.client.subscribeAsync('auth/#', { qos: 1 });
  b.server.authorizePublish = (_client, topic, _payload, callback) => {
    if (topic === 'auth/throws') throw new TypeError('hook bug');
    if (topic === 'auth/refused') return callback(new Error('not yours'));
    callback(null, true);
  };
  const thrower = await b.connect();
  const closedOnThrow = new Promise<void>((resolve) => thrower.client.once('close', () => resolve()));
  thrower.client.publish('auth/throws', 'x', { qos: 1 });
  await closedOnThrow;
  const refused = await b.connect();
  const closedOnRefusal = new Promise<void>((resolve) => refused.client.once('close', () => resolve()));
  refused.client.publish('auth/refused', 'x', { qos: 1 });
  await closedOnRefusal;
  await roundTrip(subscriber);
  assert.deepEqual(subscriber.messages.filter((m) => m.topic.startsWith('auth/')), []);
  assert.deepEqual(b.reported.map((e) => e.message), ['hook bug'], 'only the throw is an application error');
  assert.match(b.loggedErrors().find((l) => l.message.includes('the authorizePublish hook threw'))!.stack, /TypeError: hook bug/);
});

test('a throwing authorizeForward skips that delivery only; a throwing authorizeSubscribe refuses; a throwing authenticate refuses with CONNACK 4: each reported', async (t) => {
  const b = await brokerWithLog(t);
  b.server.authenticate = (_client, username, _password, callback) => {
    if (username === 'buggy') throw new Error('authenticate bug');
    callback(null, true);
  };
  await assert.rejects(connect(`mqtt://127.0.0.1:${b.server.address()[0]!.port}`, { username: 'buggy', password: 'x' }), /Bad username or password/);

  b.server.authorizeSubscribe = (_client, topic, callback) => {
    if (topic === 'fwd/secret') throw new Error('subscribe bug');
    callback(null, true);
  };
  b.server.authorizeForward = (client, _packet, callback) => {
    if (client.id === 'unlucky') throw new Error('forward bug');
    callback(null, true);
  };
  const lucky = await b.connect({ clientId: 'lucky' });
  const unlucky = await b.connect({ clientId: 'unlucky' });
  await lucky.client.subscribeAsync('fwd/open', { qos: 1 });
  await unlucky.client.subscribeAsync('fwd/open', { qos: 1 });
  await b.server.publish({ topic: 'fwd/open', payload: 'hi', qos: 1 });
  await waitFor(() => lucky.messages.length === 1, 'the lucky subscriber gets it');
  assert.equal(unlucky.client.connected, true);
  assert.deepEqual(unlucky.messages, []);

  const closed = new Promise<void>((resolve) => lucky.client.once('close', () => resolve()));
  lucky.client.subscribe('fwd/secret', { qos: 1 });
  await closed; // Mosca's and 3.1.1's rule for a failed authorizeSubscribe
  await waitFor(() => b.reported.length === 3, 'three reports');
  assert.deepEqual(b.reported.map((e) => e.message).sort(), ['authenticate bug', 'forward bug', 'subscribe bug']);
});

test('listeners of connection events, the published hook and application callbacks that throw cost nobody anything', async (t) => {
  const b = await brokerWithLog(t);
  let connectedSeen = 0;
  b.server.on('clientConnected', () => {
    throw new Error('clientConnected bug');
  });
  b.server.on('clientConnected', () => connectedSeen++);
  b.server.on('subscribed', () => {
    throw new Error('subscribed bug');
  });
  b.server.on('delivered', () => {
    throw new Error('delivered bug');
  });
  b.server.published = () => {
    throw new Error('published hook bug');
  };
  const subscriber = await b.connect();
  await subscriber.client.subscribeAsync('cb/#', { qos: 1 });
  const publisher = await b.connect();
  await publisher.client.publishAsync('cb/x', 'x', { qos: 1 }); // the PUBACK comes: the hook's failure does not undo the routed message
  await b.server.publish({ topic: 'cb/y', payload: 'y', qos: 1 }, () => {
    throw new Error('publish callback bug');
  });
  await new Promise<void>((resolve) =>
    void b.server.subscribe(
      'cb/#',
      () => {
        throw new Error('subscribe callback bug');
      },
      () => resolve(),
    ),
  );
  await b.server.publish({ topic: 'cb/z', payload: 'z', qos: 1 });
  await waitFor(() => subscriber.messages.length === 3, 'every message delivered');
  await roundTrip(subscriber);
  await roundTrip(publisher);
  assert.equal(connectedSeen, 2);
  const messages = new Set(b.reported.map((e) => e.message));
  for (const bug of ['clientConnected bug', 'subscribed bug', 'delivered bug', 'published hook bug', 'publish callback bug', 'subscribe callback bug']) {
    assert.ok(messages.has(bug), `${bug} reported`);
  }
});

test('without an error listener the bug is logged with its stack and nothing crashes', async (t) => {
  const logger = capturingLogger();
  const server = await Server.start({ port: 0, host: '127.0.0.1', logger: { childOf: logger } });
  t.after(() => server.close());
  server.on('published', () => {
    throw new RangeError('nobody listens for errors');
  });
  await server.publish({ topic: 'quiet/x', payload: 'x' });
  const [fields, message] = logger.errors.find(([, m]) => String(m).includes('listener threw'))!;
  assert.match(String(message), /a 'published' listener threw: nobody listens for errors/);
  assert.match(String((fields as { err: Error }).err.stack), /RangeError: nobody listens for errors/);
});
