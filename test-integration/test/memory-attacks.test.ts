/**
 * Issue 8, item 6, through the real `skynet-mqtt` command and raw sockets: packets that arrive one
 * byte at a time, or stop short, cost bounded memory. The broker's RSS is sampled from /proc
 * throughout (the peak is what is bounded), and a healthy publisher/subscriber pair must get every
 * message meanwhile. The attacks (16 MB-declared packets, 4 trickling and 50 stopping
 * short) are reproduced at a smaller scale that still separates the bound from the old behaviour:
 * before the fix the trickle grew the broker by ~85 bytes per byte received (65 MB for the 800 KB
 * here) and the packets that stop short held all they had received (195 MB here).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, killAll, startBroker, TempDirs, wire, type CliBroker } from '@skynet-mqtt/test-support';
import { RssSampler, rssOf } from './helpers/broker-process.js';
import { HealthyPair } from './helpers/healthy-pair.js';
import { SysWatcher } from './helpers/sys-watcher.js';
import { sleep, waitFor } from './helpers/wait.js';

const MB = 1024 * 1024;
const dirs = new TempDirs();
const sockets = new Set<net.Socket>();

after(async () => {
  for (const socket of sockets) socket.destroy();
  await killAll();
  await dirs.removeAll();
});

async function broker(options: Record<string, unknown>): Promise<{ cli: CliBroker; url: string }> {
  const port = await freePort();
  const config = join(await dirs.make('memory-attacks-'), 'broker.json');
  await writeFile(config, JSON.stringify({ port, host: '127.0.0.1', stats: true, statsInterval: 250, ...options }));
  const cli = await startBroker(['-c', config]);
  return { cli, url: `mqtt://127.0.0.1:${cli.port}` };
}

/** A raw socket that has sent CONNECT and read CONNACK 0. */
async function connected(port: number, clientId: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.on('error', () => undefined); // the broker closes some of them: expected
  let received = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(wire.connect({ clientId }));
  await waitFor(() => received.length >= 4, 10_000, () => `no CONNACK for ${clientId}`);
  assert.deepEqual([...received.subarray(0, 4)], [0x20, 2, 0, 0]);
  return socket;
}

/** The first bytes of a QoS 0 PUBLISH whose fixed header declares `remaining` bytes. */
function publishHead(remaining: number): Buffer {
  const length: number[] = [];
  do {
    length.push((remaining % 128) | (remaining >= 128 ? 0x80 : 0));
    remaining = Math.floor(remaining / 128);
  } while (remaining > 0);
  return Buffer.concat([Buffer.from([0x30, ...length]), wire.field('attack')]);
}

test('trickle: 20 connections send 40,000 bytes each of a 16,000,000-byte PUBLISH, one byte per write: the broker grows by less than 24 MB', async () => {
  const { cli, url } = await broker({});
  const healthy = await HealthyPair.start(url);
  const sys = await SysWatcher.start(url, ['memory/incompletePackets']);
  const attackers = await Promise.all(Array.from({ length: 20 }, (_, i) => connected(cli.port, `trickle-${i}`)));
  for (const socket of attackers) socket.write(publishHead(16_000_000));
  await healthy.stillReceiving();

  const before = rssOf(cli.pid!);
  const sampler = new RssSampler(cli.pid!);
  const perConnection = 40_000;
  for (let sent = 0; sent < perConnection; sent++) {
    for (const socket of attackers) socket.write(Buffer.from([0x61]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Sent, then given a second to be read (the broker keeps up with the healthy pair meanwhile).
  await waitFor(() => attackers.every((socket) => socket.writableLength === 0), 20_000, () => 'the trickle to leave');
  await sleep(1000);
  // Each connection's packet is one block of 64 KB: what arrived, rounded up to a block.
  const held = await sys.until('memory/incompletePackets', (bytes) => bytes >= 20 * 64 * 1024);
  assert.equal(held, 20 * 64 * 1024, `${held} bytes held for 20 × ${perConnection} received`);
  await healthy.stillReceiving();
  sampler.stop();
  const growth = sampler.peak - before;
  assert.ok(growth < 24 * MB, `the broker grew by ${(growth / MB).toFixed(1)} MB for ${(20 * perConnection) / 1e6} MB trickled`);
  assert.ok(attackers.every((socket) => !socket.destroyed), 'a slow packet within the timeout is not refused');

  for (const socket of attackers) socket.destroy();
  await sys.until('memory/incompletePackets', (bytes) => bytes === 0);
  await healthy.finish();
  sys.close();
  await cli.stop();
});

test('stopped short: 50 connections each send 3.9 MB of a 4 MB PUBLISH; the 8 MB budget refuses most, the broker grows by less than 96 MB, the rest time out', async () => {
  const budget = 8 * MB;
  const { cli, url } = await broker({ maxPacketSize: 4 * MB, maxIncompletePacketBytes: budget, incompletePacketTimeout: 3000 });
  const healthy = await HealthyPair.start(url);
  const sys = await SysWatcher.start(url, ['memory/incompletePackets', 'clients/closed/+']);
  const attackers = await Promise.all(Array.from({ length: 50 }, (_, i) => connected(cli.port, `short-${i}`)));
  const declared = 4 * MB - 16;
  const sent = Buffer.concat([publishHead(declared), Buffer.alloc(3_900_000, 0x62)]);

  const before = rssOf(cli.pid!);
  const sampler = new RssSampler(cli.pid!);
  for (const socket of attackers) socket.write(sent);
  // Every connection is either refused by the budget or holds its packet, until the timeout.
  await sys.until('clients/closed/incompletePacketBudget', (n) => n >= 1);
  await healthy.stillReceiving();
  const held = sys.number('memory/incompletePackets');
  assert.ok(held <= budget, `${held} bytes held, budget ${budget}`);
  await sys.until('clients/closed/incompletePacketTimeout', (n) => n >= 1, 20_000);
  sampler.stop();
  // Held: at most the budget. The rest of the peak is the network reads themselves, garbage that V8
  // collects once 64 MB of it has piled up. Before the fix all 195 MB sent were held.
  const growth = sampler.peak - before;
  assert.ok(growth < 96 * MB, `the broker grew by ${(growth / MB).toFixed(1)} MB for 50 × 3.9 MB stopped short`);

  // The timeout releases what the budget held: nothing is pinned, every attacker is closed.
  await sys.until('memory/incompletePackets', (bytes) => bytes === 0);
  await waitFor(() => attackers.every((socket) => socket.destroyed || socket.readableEnded), 20_000, () => 'every attacker closed by the broker');
  // Each attacker was closed for one of the two reasons, and at most the budget's worth timed out.
  const closed = () => sys.number('clients/closed/incompletePacketBudget') + sys.number('clients/closed/incompletePacketTimeout');
  await waitFor(() => closed() === 50, 20_000, () => `${closed()} of 50 attackers closed by the budget or the timeout`);
  const timedOut = sys.number('clients/closed/incompletePacketTimeout');
  assert.ok(timedOut >= 1 && timedOut * 3_900_000 <= budget, `${timedOut} held until the timeout`);
  await healthy.stillReceiving();
  await healthy.finish();
  sys.close();
  await cli.stop();
});
