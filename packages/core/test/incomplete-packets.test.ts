/**
 * Packets that arrive slowly or stop short hold bounded memory: each is copied into one buffer
 * that grows with what arrived, charged to the broker-wide `maxIncompletePacketBytes`, and closed
 * after `incompletePacketTimeout`; a WebSocket frame beyond `maxPacketSize` is refused from its
 * header. Each limit is counted in `server.stats.closedBy`. (The same attacks at scale, with the
 * broker's RSS measured, are in test-integration/test/memory-attacks.test.ts.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { Server } from '../src/index.js';
import { roundTrip, sleep, useBroker, waitFor, type RawClient } from './helpers.js';
import { wire } from '@skynet-mqtt/test-support';

const { publish } = wire;

const KB = 1024;

/** A QoS 0 PUBLISH to 'incomplete' of exactly `size` bytes. */
function publishOfSize(size: number): Buffer {
  let bytes = publish('incomplete', { payload: Buffer.alloc(size - 16, 1) });
  bytes = publish('incomplete', { payload: Buffer.alloc(size - 16 + size - bytes.length, 1) });
  assert.equal(bytes.length, size);
  return bytes;
}

/** A connected raw client that has sent the first `sent` bytes of a PUBLISH of `size` bytes. */
async function startPacket(raw: RawClient, clientId: string, size: number, sent: number): Promise<Buffer> {
  await raw.handshake({ clientId });
  const bytes = publishOfSize(size);
  raw.sendBytes(bytes.subarray(0, sent));
  return bytes;
}

test('a packet still incomplete after incompletePacketTimeout closes its connection; one completed in time is delivered', async (t) => {
  const broker = await useBroker(t, { incompletePacketTimeout: 1500 });
  const watcher = await broker.connect();
  await watcher.client.subscribeAsync('incomplete', { qos: 0 });

  const stuck = await broker.raw();
  await startPacket(stuck, 'stuck', 1000, 10);
  const sentAt = Date.now();
  const slow = await broker.raw();
  const bytes = await startPacket(slow, 'slow', 1000, 10);
  await sleep(500);
  slow.sendBytes(bytes.subarray(10));

  await stuck.waitClosed(10_000);
  assert.ok(Date.now() - sentAt >= 1400, 'not closed before the timeout');
  assert.equal(broker.server.stats.closedBy.incompletePacketTimeout, 1);
  await waitFor(() => watcher.messages.some((m) => m.topic === 'incomplete'), 'the packet completed in time');
  assert.equal(slow.closed, false);
  assert.equal(broker.server.incompletePackets.used, 0, 'nothing held once both are done');
});

test('a packet trickled one byte at a time holds what arrived (in 64 KB blocks), not an object per chunk', async (t) => {
  const broker = await useBroker(t, { maxPacketSize: 4 * 1024 * KB });
  const raw = await broker.raw();
  const size = 4 * 1024 * KB;
  const bytes = await startPacket(raw, 'trickle', size, 1);
  raw.socket.setNoDelay(true);
  let sent = 1;
  for (; sent < 200 * KB; sent += 1) {
    raw.sendBytes(bytes.subarray(sent, sent + 1));
    if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  // Blocks of 64 KB filled as the bytes came (four for 200 KB), whatever the number of chunks.
  await waitFor(() => broker.server.incompletePackets.used === 256 * KB, 'the bytes to arrive');
  assert.ok(broker.server.incompletePackets.used <= sent + 64 * KB, `${broker.server.incompletePackets.used} bytes held for ${sent} received`);
  raw.close();
  await waitFor(() => broker.server.incompletePackets.used === 0, 'the bytes given back when the connection closes');
});

test('maxIncompletePacketBytes: a packet the budget cannot hold closes its connection; the others complete', async (t) => {
  const broker = await useBroker(t, { maxPacketSize: 128 * KB, maxIncompletePacketBytes: 256 * KB });
  const watcher = await broker.connect();
  await watcher.client.subscribeAsync('incomplete', { qos: 0 });
  const budget = broker.server.incompletePackets;

  // Two packets of 128 KB, 80 KB of each received: their two blocks each take the whole budget.
  const [a, b] = [await broker.raw(), await broker.raw()];
  const bytesA = await startPacket(a, 'a', 128 * KB, 80 * KB);
  const bytesB = await startPacket(b, 'b', 128 * KB, 80 * KB);
  await waitFor(() => budget.used === 256 * KB, 'both packets at two blocks');

  // A third packet cannot start: its connection alone is closed.
  const c = await broker.raw();
  await startPacket(c, 'c', 128 * KB, 10);
  await c.waitClosed();
  assert.equal(broker.server.stats.closedBy.incompletePacketBudget, 1);

  a.sendBytes(bytesA.subarray(80 * KB));
  b.sendBytes(bytesB.subarray(80 * KB));
  await waitFor(() => watcher.messages.filter((m) => m.topic === 'incomplete').length === 2, 'both packets delivered');
  assert.equal(budget.used, 0);
  await roundTrip(watcher);
});

test('a WebSocket frame larger than maxPacketSize is refused from its header, not buffered', async () => {
  const server = await Server.start({ logger: false, maxPacketSize: 1024, interfaces: [{ type: 'http', port: 0, host: '127.0.0.1' }] });
  try {
    const socket = net.connect(server.address()[0]!.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`,
    );
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    await waitFor(() => received.includes('\r\n\r\n'), 'the upgrade');
    assert.match(received, /^HTTP\/1\.1 101/);
    // A masked binary frame announcing 100 MB (64-bit length), then nothing of its payload.
    const header = Buffer.alloc(14);
    header[0] = 0x82;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(100_000_000n, 2);
    socket.write(header);
    await once(socket, 'close');
    // ws answers with close code 1009 (message too big) before closing.
    assert.ok(received.includes('\x88\x02\x03\xf1'), 'a close frame with code 1009');
    await waitFor(() => server.stats.closedBy.packetTooLarge === 1, 'the limit counted');
  } finally {
    await server.close();
  }
});
