/**
 * Limits that keep one client from taking the broker's memory, by bytes as well as by count, and
 * the rule that nothing is dropped silently: each drop is counted (BrokerStats, `$SYS`) and logged,
 * at most one line per reason every 10 s.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { RateLimitedLog, type ServerOptions } from '../src/index.js';
import { capturingLogger, connectBytes, disconnect, harness, payloads, sleep, waitFor, type Harness, type RawClient } from './helpers.js';

/** A broker whose warnings are recorded. */
async function withLog(t: Parameters<typeof harness>[0], options: ServerOptions = {}) {
  const logger = capturingLogger();
  const h = await harness(t, { ...options, logger: { childOf: logger } });
  const warned = (text: string) => logger.warnings.filter((args) => String(args[1]).includes(text));
  return { h, warned };
}

/** Publishes `count` QoS 1 messages of `size` bytes on `topic`, payloads '0', '1', ... padded. */
async function publishMany(h: Harness, topic: string, count: number, size: number): Promise<void> {
  for (let i = 0; i < count; i++) await h.server.publish({ topic, payload: Buffer.from(String(i).padEnd(size, '.')), qos: 1 });
}

/** The packet ids of the PUBLISH packets a raw client received, taking them. */
function takePublishes(raw: RawClient): { id: number; payload: string }[] {
  const taken = raw.pending('publish').map((p) => ({ id: p.messageId!, payload: p.payload.toString().replace(/\.+$/, '') }));
  raw.packets.splice(0, raw.packets.length, ...raw.packets.filter((p) => p.cmd !== 'publish'));
  return taken;
}

describe('a client that never reads its replies', () => {
  /** A stream whose writes are never taken: the client's socket is full from the start. */
  class NeverDrains extends Duplex {
    override _read(): void {}
    override _write(_chunk: Buffer, _encoding: string, _callback: () => void): void {}
  }

  test('QoS 1 PUBLISH flood, PUBACKs never read: the broker stops reading it once 256 KB wait unsent', async (t) => {
    const h = await harness(t);
    const stream = new NeverDrains();
    h.server.accept(stream);
    stream.push(connectBytes({ clientId: 'no-reader' }));
    await waitFor(() => h.server.clients['no-reader']?.connected === true, 'the connection');
    // 200,000 PUBLISH of 26 bytes: 800 KB of PUBACKs if all were answered.
    const frame = Buffer.from([0x32, 24, 0, 12, ...Buffer.from('nobody/reads'), 0, 1, ...Buffer.alloc(8)]);
    const chunk = Buffer.concat(Array.from({ length: 2000 }, () => frame));
    for (let i = 0; i < 100; i++) {
      stream.push(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sleep(200);
    assert.ok(stream.isPaused(), 'reading stopped');
    assert.ok(stream.readableLength > 0, 'what it sent waits unread');
    assert.ok(stream.writableLength < 256 * 1024 + 2000 * 4, `${stream.writableLength} bytes of PUBACK wait unsent`);
    stream.destroy();
  });
});

describe('byte limits per client', () => {
  test('maxInflightBytes: QoS 1 messages go in flight only while their bytes fit; a larger one goes alone', async (t) => {
    const h = await harness(t, { maxInflightBytes: 10_000 });
    const raw = await h.connectRaw({ clientId: 'slow-acker' });
    await raw.subscribe([{ topic: 'ib/#', qos: 1 }]);
    await publishMany(h, 'ib/small', 6, 3000);
    await raw.ping();
    const first = takePublishes(raw);
    assert.deepEqual(first.map((p) => p.payload), ['0', '1', '2'], 'three of about 3 KB fit in 10,000 bytes');
    raw.send({ cmd: 'puback', messageId: first[0]!.id });
    await raw.ping();
    const third = takePublishes(raw);
    assert.deepEqual(third.map((p) => p.payload), ['3']);
    for (const { id } of [first[1]!, first[2]!]) raw.send({ cmd: 'puback', messageId: id });
    await raw.ping();
    const rest = takePublishes(raw);
    assert.deepEqual(rest.map((p) => p.payload), ['4', '5']);
    await publishMany(h, 'ib/large', 1, 20_000);
    await raw.ping();
    assert.deepEqual(takePublishes(raw), [], 'a 20 KB message waits while others are in flight');
    for (const { id } of [...third, ...rest]) raw.send({ cmd: 'puback', messageId: id });
    const large = await raw.next('publish');
    assert.equal(large.payload.length, 20_000, 'then goes alone, although larger than the window');
  });

  test('maxQueuedBytes: beyond it the oldest waiting message is dropped, counted and logged', async (t) => {
    const { h, warned } = await withLog(t, { maxInflightMessages: 1, maxQueuedBytes: 5000 });
    const raw = await h.connectRaw({ clientId: 'queue-bytes' });
    await raw.subscribe([{ topic: 'qb/#', qos: 1 }]);
    await publishMany(h, 'qb/x', 10, 1000);
    // 1 in flight; 4 of about 1.1 KB fit in 5000 bytes: 5 dropped, the oldest first.
    assert.equal(h.server.stats.droppedBy.queueFull, 5);
    assert.equal(h.server.stats.dropped, 5);
    assert.equal(warned('client queue full').length, 1, 'one log line for the burst');
    const received: string[] = [];
    for (let i = 0; i < 5; i++) {
      const publish = await raw.next('publish');
      received.push(publish.payload.toString().replace(/\.+$/, ''));
      raw.send({ cmd: 'puback', messageId: publish.messageId! });
    }
    assert.deepEqual(received, ['0', '6', '7', '8', '9']);
    assert.equal(h.server.queuedBytes.used, 0, 'the broker-wide count is back to 0');
  });

  test('maxTotalQueuedBytes: once the broker-wide budget is spent, a message that does not fit is dropped and counted', async (t) => {
    const { h, warned } = await withLog(t, { maxInflightMessages: 1, maxTotalQueuedBytes: 6000 });
    const a = await h.connectRaw({ clientId: 'budget-a' });
    const b = await h.connectRaw({ clientId: 'budget-b' });
    await a.subscribe([{ topic: 'tb/a', qos: 1 }]);
    await b.subscribe([{ topic: 'tb/b', qos: 1 }]);
    await publishMany(h, 'tb/a', 6, 1000); // 1 in flight, 5 queued: about 5.5 KB of 6000
    assert.equal(h.server.stats.droppedBy.memoryBudget, 0);
    await publishMany(h, 'tb/b', 3, 1000); // 1 in flight, 2 that no longer fit
    assert.equal(h.server.stats.droppedBy.memoryBudget, 2);
    assert.equal(warned('maxTotalQueuedBytes').length, 1);
    // A's acknowledgements give the budget back: B's queue takes messages again.
    for (let i = 0; i < 6; i++) a.send({ cmd: 'puback', messageId: (await a.next('publish')).messageId! });
    await a.ping();
    await publishMany(h, 'tb/b', 2, 1000);
    assert.equal(h.server.stats.droppedBy.memoryBudget, 2);
    a.close();
    b.close();
    await waitFor(() => h.server.queuedBytes.used === 0, 'the bytes of closed connections given back');
  });
});

describe('the offline queue', () => {
  test('a full offline queue drops its oldest messages: counted in $SYS and logged, never silently', async (t) => {
    const { h, warned } = await withLog(t, { id: 'offline-drops', stats: true, statsInterval: 50, persistence: { factory: 'memory', maxQueuedMessages: 5 } });
    const options = { clientId: 'away', clean: false };
    await disconnect(h, await h.subscriber({ 'oq/#': 1 }, options));
    await publishMany(h, 'oq/x', 12, 1);
    assert.equal(h.server.stats.droppedBy.offlineQueueFull, 7);
    const lines = warned('offline queue full');
    assert.equal(lines.length, 1, 'one line for the burst');
    assert.equal((lines[0]![0] as { clientId: string }).clientId, 'away');
    const watcher = await h.subscriber({ '$SYS/offline-drops/messages/dropped/#': 0 });
    await waitFor(() => watcher.messages.some((m) => m.topic.endsWith('/offlineQueueFull') && m.payload.toString() === '7'), 'the $SYS counter');
    assert.ok(watcher.messages.some((m) => m.topic === '$SYS/offline-drops/messages/dropped' && m.payload.toString() === '7'));
    const again = await h.connect(options);
    await waitFor(() => again.messages.length === 5, 'the 5 kept');
    assert.deepEqual(payloads(again), ['7', '8', '9', '10', '11']);
  });

  test("the memory Store's queues count in maxTotalQueuedBytes and give their bytes back", async (t) => {
    const h = await harness(t, { maxQueuedBytes: 3000 });
    const options = { clientId: 'away-bytes', clean: false };
    await disconnect(h, await h.subscriber({ 'ob/#': 1 }, options));
    await publishMany(h, 'ob/x', 5, 1000);
    assert.equal(h.server.stats.droppedBy.offlineQueueFull, 3, 'maxQueuedBytes bounds the memory Store too');
    assert.ok(h.server.queuedBytes.used > 2000 && h.server.queuedBytes.used <= 3000, `${h.server.queuedBytes.used} bytes counted`);
    const again = await h.connect({ ...options, clean: true });
    await again.end();
    await waitFor(() => h.server.queuedBytes.used === 0, 'the deleted session gives its bytes back');
  });
});

test('RateLimitedLog: one line per key and interval, then one with the number left out', async () => {
  const logger = capturingLogger();
  const log = new RateLimitedLog(logger as never, 100);
  for (let i = 0; i < 5; i++) log.warn('a', { i }, 'first kind');
  log.warn('b', {}, 'second kind');
  assert.deepEqual(logger.warnings, [[{ i: 0 }, 'first kind'], [{}, 'second kind']]);
  await sleep(120);
  log.warn('a', { i: 5 }, 'first kind');
  assert.deepEqual(logger.warnings[2], [{ i: 5, suppressed: 4 }, 'first kind']);
});
