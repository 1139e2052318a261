// A bare MQTT client on a raw TCP socket: handshake helpers, then the scenario takes over the
// frame handler. No MQTT library on the hot path; reads land in one buffer shared by every socket
// of the thread (safe: a read is consumed synchronously), so 10,000 idle sockets cost no buffers.
import { connect, type Socket } from 'node:net';
import { FrameReader, type FrameHandler } from './frame-reader.js';
import { connectPacket, subscribePacket, DISCONNECT, PacketType, type QoS } from './frames.js';

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** A read smaller than this means the receiver is keeping up with a sender that writes packet by packet. */
const SMALL_READ = 16 * 1024;
/** How long such a receiver stops reading (Node's timer granularity). */
const READ_PAUSE_MS = 1;

export interface Target {
  readonly host: string;
  readonly port: number;
}

export class RawClient {
  readonly reader: FrameReader;
  /** First socket error or unexpected close, if any: makes the measurement invalid. */
  error: string | undefined;
  /** See batchReads(). */
  private batching = false;
  private closing = false;
  private readonly closed: Promise<void>;

  private constructor(readonly socket: Socket, readonly name: string) {
    this.reader = new FrameReader(() => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err) => this.fail(`${name}: ${err.message}`));
    socket.on('close', () => {
      if (!this.closing) this.fail(`${name}: connection closed by the broker`);
    });
  }

  /** Opens a socket and completes CONNECT/CONNACK. */
  static open(target: Target, clientId: string): Promise<RawClient> {
    return RawClient.handshake(target, clientId, connectPacket(clientId), 1);
  }

  /**
   * CONNECT and SUBSCRIBE in one write, then wait for CONNACK and SUBACK: one round trip instead
   * of two (MQTT 3.1.1 §3.1.4 lets a client send packets before the CONNACK). Used for the idle
   * connections, where the generator's cost per connection matters.
   */
  static openSubscribed(target: Target, clientId: string, filter: string, qos: QoS): Promise<RawClient> {
    return RawClient.handshake(target, clientId, Buffer.concat([connectPacket(clientId), subscribePacket(filter, qos)]), 2);
  }

  /** Writes `hello` as soon as the socket is connected and expects CONNACK (then SUBACK if acks = 2). */
  private static handshake(target: Target, clientId: string, hello: Buffer, acks: 1 | 2): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      let client: RawClient | undefined;
      const socket = connect({
        host: target.host,
        port: target.port,
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array): boolean => {
            client!.reader.feed(buf as Buffer, n);
            return client!.keepReading(n);
          },
        },
      });
      client = new RawClient(socket, clientId);
      const c = client;
      socket.write(hello); // queued by the stream until the socket is connected
      const onEarlyClose = (): void => reject(new Error(c.error ?? `${clientId}: closed during the handshake`));
      socket.once('close', onEarlyClose);
      let seen = 0;
      c.reader.onFrame = (buf, header, body) => {
        const type = header >> 4;
        const ok = seen === 0 ? type === PacketType.Connack && buf[body + 1] === 0 : type === PacketType.Suback && buf[body + 2] !== 0x80;
        if (!ok) {
          c.reader.onFrame = () => {};
          socket.off('close', onEarlyClose);
          reject(new Error(`${clientId}: handshake refused (packet type ${type}, code ${buf[body + (seen === 0 ? 1 : 2)]})`));
        } else if (++seen === acks) {
          c.reader.onFrame = () => {};
          socket.off('close', onEarlyClose);
          resolve(c);
        }
      };
    });
  }

  /** SUBSCRIBE to one filter and wait for a SUBACK that grants it. */
  subscribe(filter: string, qos: QoS): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reader.onFrame = (buf, header, body) => {
        this.reader.onFrame = () => {};
        if (header >> 4 === PacketType.Suback && buf[body + 2] !== 0x80) resolve();
        else reject(new Error(`${this.name}: SUBSCRIBE ${filter} refused`));
      };
      this.socket.write(subscribePacket(filter, qos));
    });
  }

  /**
   * For receivers of a throughput flow: after a small read, stop reading for READ_PAUSE_MS so the
   * next read takes what arrived meanwhile. Otherwise, against a broker that writes one packet per
   * syscall (Mosquitto), a receiver that keeps up wakes and reads once per packet, at about 7 µs of
   * this process's CPU each, which on 2 cores starves the broker it measures. The kernel's
   * receive buffer holds far more than a millisecond of traffic, so the broker never waits on it.
   * Not for latency (it would add up to a millisecond) nor for windowed flows (acks would wait).
   */
  batchReads(): void {
    this.batching = true;
  }

  /** Whether the socket reads on at once after a read of `n` bytes (false pauses it: the onread contract). */
  private keepReading(n: number): boolean {
    if (!this.batching || n >= SMALL_READ || this.socket.destroyed) return true;
    setTimeout(() => this.socket.resume(), READ_PAUSE_MS);
    return false;
  }

  /** Replaces the frame handler (the scenario's hot loop). */
  onFrames(handler: FrameHandler): void {
    this.reader.onFrame = handler;
  }

  /** DISCONNECT and close; resolves when the socket is closed (forcibly after 2 s). */
  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    this.closing = true;
    this.socket.end(DISCONNECT);
    const timer = setTimeout(() => this.socket.destroy(), 2000);
    await this.closed;
    clearTimeout(timer);
  }

  private fail(message: string): void {
    this.error ??= message;
  }
}

/** Closes many clients, tolerating ones already gone. */
export async function closeAll(clients: readonly RawClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

/** First error among the clients, if any. */
export function firstError(clients: readonly RawClient[]): string | undefined {
  for (const c of clients) if (c.error) return c.error;
  return undefined;
}
