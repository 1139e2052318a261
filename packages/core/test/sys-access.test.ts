/**
 * `$SYS` is the broker's: clients may not publish there (Mosquitto's rule), the takeover signal
 * between instances travels on the control channel no client can write or read, and which `$SYS`
 * topics a client may read is configurable (per-client events off for anonymous clients).
 */
import { test, describe, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEmitter, Server, type ControlOrigin, type ServerOptions } from '../src/index.js';
import { capturingLogger, connect, flush, harness, roundTrip, startBroker, waitFor, type TestBroker } from './helpers.js';

describe('clients cannot write $SYS or $CONTROL', () => {
  test('a forged $SYS/<id>/new/clients does not disconnect its victim, and is acknowledged and dropped', async (t) => {
    const h = await harness(t);
    const victim = await h.connect({ clientId: 'victim' });
    let victimClosed = false;
    victim.client.on('close', () => (victimClosed = true));
    const reader = await h.subscriber({ '$SYS/#': 0 }, { clientId: 'sys-reader' });
    const attacker = await h.connectRaw({ clientId: 'attacker' });
    // Every broker id, this one's included: the old takeover signal took any id but the receiver's own.
    for (const [i, topic] of [`$SYS/${h.server.id}/new/clients`, '$SYS/other-broker/new/clients', '$SYS'].entries()) {
      attacker.send({ cmd: 'publish', topic, payload: Buffer.from('victim'), qos: 1, dup: false, retain: false, messageId: i + 1 });
      assert.equal((await attacker.next('puback')).messageId, i + 1, 'QoS 1 is acknowledged, as Mosquitto does');
    }
    attacker.send({ cmd: 'publish', topic: '$SYS/x/new/clients', payload: Buffer.from('victim'), qos: 2, dup: false, retain: false, messageId: 9 });
    assert.equal((await attacker.next('pubrec')).messageId, 9);
    attacker.send({ cmd: 'pubrel', messageId: 9 });
    assert.equal((await attacker.next('pubcomp')).messageId, 9);
    attacker.send({ cmd: 'publish', topic: '$SYS/x/new/clients', payload: Buffer.from('victim'), qos: 0, dup: false, retain: true });
    await attacker.ping();

    await roundTrip(victim);
    assert.equal(victimClosed, false);
    assert.equal(h.server.clients.victim?.connected, true);
    await flush(reader, h.server);
    assert.deepEqual(reader.messages.filter((m) => m.payload.toString() === 'victim'), [], 'nothing forged reached a $SYS reader');
    assert.equal(h.server.stats.droppedBy.reservedTopic, 5);
    assert.equal(h.server.stats.dropped, 5);
    // Not retained either.
    const later = await h.subscriber({ '$SYS/x/#': 0 });
    await flush(later, h.server);
    assert.deepEqual(later.messages, []);
  });

  test('a publish to $CONTROL, and a subscription to it, are refused', async (t) => {
    const h = await harness(t);
    const victim = await h.connect({ clientId: 'victim2' });
    let victimClosed = false;
    victim.client.on('close', () => (victimClosed = true));
    const attacker = await h.connectRaw({ clientId: 'attacker2' });
    assert.deepEqual(await attacker.subscribe([{ topic: '$CONTROL/#', qos: 0 }, { topic: '$CONTROL/takeover/+', qos: 1 }, { topic: 'fine', qos: 1 }]), [0x80, 0x80, 1]);
    attacker.send({ cmd: 'publish', topic: '$CONTROL/takeover/someone-else', payload: Buffer.from('victim2'), qos: 1, dup: false, retain: false, messageId: 1 });
    await attacker.next('puback');
    await roundTrip(victim);
    assert.equal(victimClosed, false);
    assert.equal(h.server.stats.droppedBy.reservedTopic, 1);
    await attacker.ping();
    assert.deepEqual(attacker.pending('publish'), []);
  });

  test('a will on $SYS is refused at CONNECT (not authorized)', async (t) => {
    const h = await harness(t);
    const raw = await h.raw();
    const connack = await raw.handshake({ clientId: 'sys-will', will: { topic: '$SYS/x/new/clients', payload: Buffer.from('victim'), qos: 0, retain: false } });
    assert.equal(connack.returnCode, 5);
    await raw.waitClosed();
  });

  test('server.publish() refuses the control level but still publishes $SYS', async (t) => {
    const h = await harness(t);
    await assert.rejects(h.server.publish({ topic: '$CONTROL/takeover/x', payload: 'victim' }), /control channel/);
    const reader = await h.subscriber({ '$SYS/app/#': 0 });
    await h.server.publish({ topic: '$SYS/app/status', payload: 'up' });
    await waitFor(() => reader.messages.length === 1, 'the host $SYS message');
  });
});

describe('the control channel', () => {
  /** Two brokers sharing one in-process Emitter: the smallest cluster. */
  async function pair(t: TestContext, options: ServerOptions = {}): Promise<[TestBroker, TestBroker]> {
    const emitter = new MemoryEmitter();
    const a = await startBroker({ id: 'a', backend: emitter, ...options });
    const b = await startBroker({ id: 'b', backend: emitter, ...options });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    return [a, b];
  }

  test('send() reaches the handlers of every instance, the sender included, with its origin', async (t) => {
    const [a, b] = await pair(t);
    const seen: [string, string, ControlOrigin][] = [];
    a.server.control.on('ping', (payload, origin) => seen.push(['a', payload.toString(), origin]));
    const off = b.server.control.on('ping', (payload, origin) => seen.push(['b', payload.toString(), origin]));
    b.server.control.on('other', () => seen.push(['b', 'other', { brokerId: '', local: false }]));
    await a.server.control.send('ping', 'hello');
    assert.deepEqual(seen, [
      ['a', 'hello', { brokerId: 'a', local: true }],
      ['b', 'hello', { brokerId: 'a', local: false }],
    ]);
    off();
    await b.server.control.send('ping', Buffer.from('again'));
    assert.deepEqual(seen.slice(2), [['a', 'again', { brokerId: 'b', local: false }]]);
    assert.throws(() => a.server.control.on('a/b', () => undefined), /one topic level/);
    await assert.rejects(async () => a.server.control.send('+', 'x'), /one topic level/);
  });

  test('a client id connecting to another instance closes the first connection (and publishes its will), even with publishNewClient off', async (t) => {
    const [a, b] = await pair(t, { publishNewClient: false });
    const watcher = await connect(b.url, { clientId: 'watcher' });
    t.after(() => watcher.end(true));
    await watcher.client.subscribeAsync('wills/roamer', { qos: 1 });
    const first = await connect(a.url, { clientId: 'roamer', will: { topic: 'wills/roamer', payload: Buffer.from('moved'), qos: 1, retain: false } });
    t.after(() => first.end(true));
    let firstClosed = false;
    first.client.on('close', () => (firstClosed = true));
    const second = await connect(b.url, { clientId: 'roamer' });
    t.after(() => second.end(true));
    await waitFor(() => firstClosed, 'the first connection to be closed');
    await roundTrip(second);
    await waitFor(() => watcher.messages.some((m) => m.topic === 'wills/roamer'), 'the will of the connection taken over'); // [MQTT-3.1.2-8]
  });
});

describe('Mosca\'s $SYS client events are made only when something can receive them', () => {
  test('a subscriber on another instance sharing the Emitter gets them', async (t) => {
    const emitter = new MemoryEmitter();
    const options: ServerOptions = { backend: emitter, sysAccess: { clientEvents: 'all' } };
    const a = await startBroker({ id: 'a', ...options });
    const b = await startBroker({ id: 'b', ...options });
    t.after(async () => {
      await a.close();
      await b.close();
    });
    const reader = await connect(b.url, { clientId: 'reader' });
    t.after(() => reader.end(true));
    await reader.client.subscribeAsync('$SYS/a/+/+');
    const newcomer = await connect(a.url, { clientId: 'newcomer' });
    await newcomer.client.subscribeAsync('some/topic');
    await newcomer.end();
    const expected = [
      ['$SYS/a/new/clients', 'newcomer'],
      ['$SYS/a/new/subscribes', JSON.stringify({ clientId: 'newcomer', topic: 'some/topic' })],
      ['$SYS/a/disconnect/clients', 'newcomer'],
    ];
    await waitFor(() => reader.messages.length >= expected.length, 'the three events');
    assert.deepEqual(reader.messages.map((m) => [m.topic, m.payload.toString()]), expected);
  });

  test('the published hook gets them with no subscriber', async (t) => {
    const h = await harness(t);
    const seen: string[] = [];
    h.server.published = (packet, _client, done) => {
      seen.push(packet.topic);
      done(null);
    };
    const newcomer = await h.connect({ clientId: 'hooked' });
    await roundTrip(newcomer);
    await waitFor(() => seen.includes(`$SYS/${h.server.id}/new/clients`), 'new/clients through the hook');
  });

  test('a client that subscribes to $SYS later gets the events from then on', async (t) => {
    const h = await harness(t, { sysAccess: { clientEvents: 'all' } });
    const early = await h.connect({ clientId: 'early' });
    await roundTrip(early);
    const reader = await h.subscriber({ [`$SYS/${h.server.id}/new/clients`]: 0 });
    await h.connect({ clientId: 'late' });
    await waitFor(() => reader.messages.length === 1, 'the event of the later connection');
    await flush(reader, h.server);
    assert.deepEqual(reader.messages.map((m) => m.payload.toString()), ['late']);
  });
});

describe('which $SYS topics clients may read (sysAccess)', () => {
  /** Connects `clientId`, then returns the `$SYS` topics a `$SYS/#` subscriber saw for it. */
  async function observe(options: ServerOptions, subscriber: { username?: string }, t: TestContext) {
    const h = await harness(t, { id: 'acl', stats: true, statsInterval: 50, ...options });
    h.server.authenticate = (_client, username) => username !== 'intruder';
    const reader = await h.subscriber({ '$SYS/#': 0 }, subscriber);
    const other = await h.connect({ clientId: 'observed' });
    await other.client.subscribeAsync('observed/topic');
    await waitFor(() => reader.messages.some((m) => m.topic === '$SYS/acl/uptime') || options.sysAccess?.stats === 'none', 'a stats message');
    await flush(reader, h.server);
    await other.end();
    await waitFor(() => h.server.clients.observed === undefined, 'the disconnection');
    await flush(reader, h.server);
    return new Set(reader.messages.map((m) => m.topic.replace('$SYS/acl/', '')));
  }

  test('by default an anonymous client reads statistics but no client ids or topics', async (t) => {
    const topics = await observe({}, {}, t);
    assert.ok(topics.has('uptime') && topics.has('clients/connected'));
    for (const event of ['new/clients', 'new/subscribes', 'disconnect/clients']) assert.ok(!topics.has(event), event);
  });

  test('by default a client authenticated with a username reads the client events too', async (t) => {
    const topics = await observe({}, { username: 'operator' }, t);
    for (const event of ['uptime', 'new/clients', 'new/subscribes', 'disconnect/clients']) assert.ok(topics.has(event), event);
  });

  test("clientEvents: 'all' shows them to anonymous clients (Mosca's behaviour)", async (t) => {
    const topics = await observe({ sysAccess: { clientEvents: 'all' } }, {}, t);
    for (const event of ['new/clients', 'new/subscribes', 'disconnect/clients']) assert.ok(topics.has(event), event);
  });

  test("stats: 'none' and clientEvents: 'none' hide everything, from authenticated clients too", async (t) => {
    const topics = await observe({ sysAccess: { stats: 'none', clientEvents: 'none' } }, { username: 'operator' }, t);
    assert.deepEqual([...topics], []);
  });

  test('an invalid sysAccess is a ConfigurationError naming the key', () => {
    assert.throws(() => new Server({ sysAccess: { stats: 'everyone' as never } }), /option sysAccess.stats must be one of all, authenticated, none/);
    assert.throws(() => new Server({ sysAccess: { events: 'all' } as never }), /unknown option sysAccess.events/);
  });
});

describe('anonymous access on a public address', () => {
  async function warningsOf(options: ServerOptions, setHook = false): Promise<string[]> {
    const logger = capturingLogger();
    const server = new Server({ port: 0, logger: { childOf: logger }, ...options });
    server.on('ready', () => {
      if (setHook) server.authenticate = () => true;
    });
    await server.ready();
    await new Promise((resolve) => setImmediate(resolve));
    await server.close();
    return logger.warnings.map((args) => String(args[1] ?? args[0]));
  }

  test('one warning that says how to turn authentication on, when listening on every address', async () => {
    const warnings = (await warningsOf({ host: '0.0.0.0' })).filter((w) => w.includes('anonymous'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /anonymous clients are accepted on 0\.0\.0\.0:\d+.*server\.authenticate/);
  });

  test('no warning on loopback only, nor with an authenticate hook', async () => {
    assert.deepEqual((await warningsOf({ host: '127.0.0.1' })).filter((w) => w.includes('anonymous')), []);
    assert.deepEqual((await warningsOf({ host: '0.0.0.0' }, true)).filter((w) => w.includes('anonymous')), []);
  });
});
