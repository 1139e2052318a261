/**
 * Randomized input against the real `skynet-mqtt` command: thousands of mutated packets over
 * hundreds of raw connections, split into random chunks. The broker must not crash, must end or
 * keep each connection without leaking it (its open sockets and connected clients return to what
 * they were once the attackers are gone), must stay within a memory bound, and a well-behaved
 * publisher/subscriber pair connected throughout must receive every message.
 *
 * Reproducible: every byte depends on the seed and the connection's index only. FUZZ_SEED (default
 * below), FUZZ_CONNECTIONS and FUZZ_PACKETS (per connection) change the run; a failure prints the
 * seed. The defaults (about 6,000 mutated packets among 25,000) keep it to about ten seconds.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, killAll, startBroker, TempDirs, wire } from '@skynet-mqtt/test-support';
import { rssOf, socketsOf } from './helpers/broker-process.js';
import { HealthyPair } from './helpers/healthy-pair.js';
import { SysWatcher } from './helpers/sys-watcher.js';
import { sleep, waitFor } from './helpers/wait.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_0011);
const CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 1000);
const PACKETS = Number(process.env.FUZZ_PACKETS ?? 24);
/** Chance that a packet is mutated: low enough that a connection gets some way before the broker closes it. */
const MUTATED = 0.25;
/** Connections attacking at the same time. */
const PARALLEL = 32;
const MB = 1024 * 1024;

const dirs = new TempDirs();
const open = new Set<net.Socket>();

after(async () => {
  for (const socket of open) socket.destroy();
  await killAll();
  await dirs.removeAll();
});

/** mulberry32: a small seeded generator, enough to make the bytes reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, max: number) => Math.floor(rng() * max);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;
const bytes = (rng: Rng, length: number) => Buffer.from(Array.from({ length }, () => int(rng, 256)));

const TOPICS = ['fuzz/a', 'fuzz/b/c', 'fuzz/+/c', 'fuzz/#', '#', '+', 'fuzz/é/ü', '$SYS/fuzz', 'fuzz//'];

/** A CONNECT of some protocol level, with or without will and credentials. */
function connectPacket(rng: Rng, clientId: string): Buffer {
  const { connect, field, packet } = wire;
  switch (int(rng, 6)) {
    case 0:
      return connect({ clientId, flags: 0x00 }); // durable session
    case 1:
      return connect({ clientId, flags: 0x06 | (int(rng, 3) << 3), payload: ['fuzz/will', bytes(rng, int(rng, 20))] });
    case 2:
      return connect({ clientId, flags: 0xc2, payload: ['user', bytes(rng, 8)] });
    case 3:
      return connect({ name: 'MQIsdp', level: 3, clientId });
    case 4:
      // MQTT 5: an empty property list after the keepalive.
      return packet(0x10, field('MQTT'), [5, 0x02, 0, 30, 0], field(clientId));
    default:
      return connect({ clientId });
  }
}

/** A valid packet a client may send after CONNECT (for MQTT 3.1.1). */
function flowPacket(rng: Rng): Buffer {
  const { ack, packet, publish, subscribe, unsubscribe } = wire;
  const id = 1 + int(rng, 65535);
  switch (int(rng, 9)) {
    case 0:
    case 1:
    case 2:
      return publish(pick(rng, TOPICS.filter((t) => !t.includes('+') && !t.includes('#'))), { qos: int(rng, 3), retain: rng() < 0.2, id, payload: bytes(rng, int(rng, 300)) });
    case 3:
      return subscribe(id, ...Array.from({ length: 1 + int(rng, 3) }, (): [string, number] => [pick(rng, TOPICS), int(rng, 3)]));
    case 4:
      return unsubscribe(id, pick(rng, TOPICS));
    case 5:
      return ack(pick(rng, ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const), id);
    case 6:
      return packet(0xc0); // PINGREQ
    case 7:
      return rng() < 0.2 ? packet(0xe0) : packet(0xc0); // DISCONNECT, now and then
    default:
      return publish('fuzz/big', { qos: 1, id, payload: bytes(rng, 2000 + int(rng, 8000)) });
  }
}

/** One to three random edits: bit flips, bytes changed, inserted, removed or repeated, a cut, a new length. */
function mutate(rng: Rng, input: Buffer): Buffer {
  let out = Buffer.from(input);
  for (let edits = 1 + int(rng, 3); edits > 0; edits--) {
    const at = int(rng, Math.max(out.length, 1));
    switch (int(rng, 7)) {
      case 0:
        if (out.length > 0) out[at] = out[at]! ^ (1 << int(rng, 8));
        break;
      case 1:
        if (out.length > 0) out[at] = int(rng, 256);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), bytes(rng, 1 + int(rng, 8)), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(rng, 8))]);
        break;
      case 4:
        out = out.subarray(0, at);
        break;
      case 5:
        out = Buffer.concat([out, out.subarray(at, at + 1 + int(rng, 16))]);
        break;
      default:
        // The remaining length: anything up to four bytes, so sometimes a huge packet that never comes.
        out = Buffer.concat([out.subarray(0, 1), bytes(rng, 1 + int(rng, 4)), out.subarray(2)]);
    }
  }
  return out;
}

/** The bytes of connection `index`: a CONNECT, then PACKETS packets, each mutated or not; and how many were. */
function connectionBytes(index: number): { data: Buffer; mutated: number } {
  const rng = random(SEED ^ Math.imul(index + 1, 0x9e3779b1));
  const packets = [connectPacket(rng, `fuzz-${SEED}-${index}`), ...Array.from({ length: PACKETS }, () => flowPacket(rng))];
  let mutated = 0;
  const data = packets.map((packet) => {
    if (rng() >= MUTATED) return packet;
    mutated++;
    return mutate(rng, packet);
  });
  return { data: Buffer.concat(data), mutated };
}

/** Sends `data` in random chunks, reading (and dropping) whatever comes back; then hangs up. */
async function attack(port: number, index: number, data: Buffer): Promise<void> {
  const rng = random(SEED + index);
  const socket = net.connect(port, '127.0.0.1');
  open.add(socket);
  socket.on('data', () => undefined);
  socket.on('error', () => undefined); // the broker closes most of these connections
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  for (let offset = 0; offset < data.length && !socket.destroyed; ) {
    const size = rng() < 0.3 ? 1 + int(rng, 8) : 1 + int(rng, 4096);
    socket.write(data.subarray(offset, offset + size));
    offset += size;
    if (rng() < 0.2) await new Promise((resolve) => setImmediate(resolve));
  }
  await sleep(int(rng, 10));
  socket.destroy();
  open.delete(socket);
}

test(`fuzz: ${CONNECTIONS} connections × ${PACKETS + 1} packets, ${MUTATED * 100}% mutated (seed ${SEED}): no crash, no leak, the healthy pair gets everything`, async () => {
  const port = await freePort();
  const config = join(await dirs.make('fuzz-'), 'broker.json');
  // Packets up to 64 KB; incomplete ones and silent connections are dropped after 2 s.
  const options = { port, host: '127.0.0.1', stats: true, statsInterval: 250, maxPacketSize: 65_536, connectTimeout: 2000, incompletePacketTimeout: 2000, logger: { level: 'error' } };
  await writeFile(config, JSON.stringify(options));
  const cli = await startBroker(['-c', config]);
  const url = `mqtt://127.0.0.1:${cli.port}`;
  const healthy = await HealthyPair.start(url);
  const sys = await SysWatcher.start(url, ['clients/connected', 'clients/closed/+', 'memory/incompletePackets']);
  await healthy.stillReceiving();
  const sockets = socketsOf(cli.pid!);
  const rss = rssOf(cli.pid!);

  let next = 0;
  let sent = 0;
  let mutated = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < CONNECTIONS) {
        const index = next++;
        const connection = connectionBytes(index);
        sent += connection.data.length;
        mutated += connection.mutated;
        await attack(cli.port, index, connection.data);
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const context = `seed ${SEED}, ${CONNECTIONS} connections, ${mutated} of ${CONNECTIONS * (PACKETS + 1)} packets mutated, ${(sent / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s`;

  assert.equal(cli.child.exitCode, null, `the broker is still running (${context})`);
  await healthy.stillReceiving();
  // Every attacker is gone: the broker holds the sockets and the clients it held before.
  await waitFor(() => socketsOf(cli.pid!) <= sockets, 30_000, () => `the broker has ${socketsOf(cli.pid!)} sockets open, ${sockets} before (${context})`);
  await sys.until('clients/connected', (connected) => connected === 3);
  await sys.until('memory/incompletePackets', (bytes) => bytes === 0);
  const growth = rssOf(cli.pid!) - rss;
  // The attackers' durable sessions, queues and retained messages stay, as they should (about 13 MB).
  assert.ok(growth < 64 * MB, `the broker grew by ${(growth / MB).toFixed(1)} MB (${context})`);
  assert.ok(sys.number('clients/closed/protocolError') > CONNECTIONS / 2, `protocol errors counted: ${sys.number('clients/closed/protocolError')} (${context})`);
  await healthy.finish();
  assert.equal(cli.child.exitCode, null, `the broker is still running (${context})`);
  assert.doesNotMatch(cli.stdout + cli.stderr, /uncaught|unhandled/i, context);
  sys.close();
  await cli.stop();
});
