/**
 * Attacks on a real `skynet-mqtt` process: brokers started with the limits under test, and raw
 * sockets that misbehave (the well-behaved pair is in healthy-pair.ts, memory in broker-process.ts).
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { bannerPort, cliBin, freePort, spawnTracked, startBroker, waitForLine, type CliBroker, type TempDirs } from '@skynet-mqtt/test-support';
import { sleep, waitFor } from './wait.js';

export interface AttackBroker extends CliBroker {
  id: string;
}

async function configFile(dirs: TempDirs, options: Record<string, unknown>): Promise<{ id: string; config: string }> {
  const id = `attack${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const config = join(await dirs.make('skynet-attack-'), 'broker.json');
  await writeFile(config, JSON.stringify({ port: await freePort(), host: '127.0.0.1', id, statsInterval: 500, ...options }));
  return { id, config };
}

/** Starts `skynet-mqtt -c <config>` on 127.0.0.1 with `options` (the limits under test) merged in. */
export async function startAttackBroker(dirs: TempDirs, options: Record<string, unknown> = {}): Promise<AttackBroker> {
  const { id, config } = await configFile(dirs, options);
  return Object.assign(await startBroker([], { config }), { id });
}

/** The same, with the process's file descriptor limit lowered to `nofile` (`ulimit -n` in a shell). */
export async function startLimitedBroker(dirs: TempDirs, nofile: number, options: Record<string, unknown> = {}): Promise<AttackBroker> {
  const { id, config } = await configFile(dirs, options);
  const proc = spawnTracked('sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, process.execPath, cliBin(), '-c', config]);
  const banner = await waitForLine(proc, ' listening on ', { timeoutMs: 15_000, what: 'the banner' });
  return Object.assign(proc, { id, port: bannerPort(banner), bannerLine: banner, banner: () => Promise.resolve(banner), stop: (signal: NodeJS.Signals = 'SIGTERM') => proc.kill(signal) });
}

export const MB = 1024 * 1024;

// Raw MQTT 3.1.1 frames, written by hand: attacks need exactly these bytes and nothing else.

function frame(first: number, body: Buffer): Buffer {
  const length: number[] = [];
  let n = body.length;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    length.push(digit);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...length]), body]);
}

function utf8(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

export const PINGREQ = Buffer.from([0xc0, 0x00]);

export function connectFrame(clientId: string, { clean = true, keepalive = 0 } = {}): Buffer {
  return frame(0x10, Buffer.concat([utf8('MQTT'), Buffer.from([4, clean ? 0x02 : 0, keepalive >> 8, keepalive & 0xff]), utf8(clientId)]));
}

export function subscribeFrame(messageId: number, topic: string, qos: number): Buffer {
  return frame(0x82, Buffer.concat([Buffer.from([messageId >> 8, messageId & 0xff]), utf8(topic), Buffer.from([qos])]));
}

export function publishFrame(topic: string, payload: Buffer, qos: 0 | 1 = 0, messageId = 1, retain = false): Buffer {
  const id = qos > 0 ? Buffer.from([messageId >> 8, messageId & 0xff]) : Buffer.alloc(0);
  return frame(0x30 | (qos << 1) | (retain ? 1 : 0), Buffer.concat([utf8(topic), id, payload]));
}

/**
 * A raw TCP client. It reads (and counts the packet types it receives) until `stopReading()`,
 * after which its socket is paused: the kernel buffers fill and the broker's writes back up.
 */
export class RawClient {
  readonly received = new Map<number, number>();
  closed = false;
  private pending = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.parse(chunk));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => (this.closed = true));
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** CONNECT, then waits for CONNACK. */
  async handshake(clientId: string, options: { clean?: boolean; keepalive?: number } = {}): Promise<void> {
    this.socket.write(connectFrame(clientId, options));
    await this.waitFor(0x2, 1);
  }

  async subscribe(topic: string, qos: number): Promise<void> {
    const before = this.count(0x9);
    this.socket.write(subscribeFrame(1, topic, qos));
    await this.waitFor(0x9, before + 1);
  }

  count(type: number): number {
    return this.received.get(type) ?? 0;
  }

  async waitFor(type: number, count: number): Promise<void> {
    await waitFor(() => this.count(type) >= count || this.closed, 10_000, () => `packet type ${type} × ${count}`);
    if (this.count(type) < count) throw new Error(`closed before packet type ${type} × ${count}`);
  }

  stopReading(): void {
    this.socket.pause();
  }

  /** Reads again: what the broker sent, then its FIN if it hung up (a paused socket sees neither). */
  async closedByBroker(): Promise<void> {
    this.socket.resume();
    await waitFor(() => this.closed, 15_000, () => 'the broker did not close the connection');
  }

  /**
   * Writes `chunk` again and again for `ms`, waiting while the socket does not take more, and stops
   * early once `maxBytes` are written or once the socket took nothing for `stallMs` (the broker
   * stopped reading it). Returns the bytes written and whether it stalled.
   */
  async flood(chunk: Buffer, ms: number, { maxBytes = Infinity, stallMs = Infinity } = {}): Promise<{ written: number; stalled: boolean }> {
    const until = Date.now() + ms;
    let written = 0;
    while (Date.now() < until && written < maxBytes && !this.closed) {
      written += chunk.length;
      if (this.socket.write(chunk)) continue;
      const wait = Math.max(1, Math.min(stallMs, until - Date.now()));
      const drained = await Promise.race([new Promise<boolean>((resolve) => this.socket.once('drain', () => resolve(true))), sleep(wait).then(() => false)]);
      if (!drained && wait === stallMs) return { written, stalled: true };
    }
    return { written, stalled: false };
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(chunk: Buffer): void {
    let buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let offset = 1;
      for (; offset < 5 && offset < buffer.length; offset++) {
        length += (buffer[offset]! & 0x7f) * multiplier;
        multiplier *= 128;
        if ((buffer[offset]! & 0x80) === 0) break;
      }
      if (offset >= buffer.length || buffer.length < offset + 1 + length) break;
      const type = buffer[0]! >> 4;
      this.received.set(type, this.count(type) + 1);
      buffer = buffer.subarray(offset + 1 + length);
    }
    this.pending = Buffer.from(buffer);
  }
}

export function logLine(broker: CliBroker, text: string, timeoutMs = 15_000): Promise<string> {
  return waitForLine(broker, text, { stream: 'stdout', timeoutMs, what: `a log line with "${text}"` });
}
