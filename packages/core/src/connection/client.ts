import type { Duplex } from 'node:stream';
import mqtt from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import { dispatch } from '../handlers/dispatch.js';
import type { Message, OutgoingPacket, QoS, Will } from '../types.js';
import { callHook } from '../hooks.js';
import { OutboundQueue } from './outbound-queue.js';
import { PacketReader } from './packet-reader.js';

/** Packets held while an asynchronous handler runs before reading stops, and when it resumes. */
const BACKLOG_HIGH = 1024;
const BACKLOG_LOW = 512;
/** Unsent bytes beyond which a client counts as congested (see Client.throttle). */
const CONGESTION_BYTES = 256 * 1024;

/** Why a connection ended: Mosca's reason strings, passed to `clientDisconnected`. */
export type CloseReason =
  | 'disconnect request'
  | 'close'
  | 'keepalive timeout'
  | 'connect timeout'
  | 'new connection request'
  | 'server closed'
  | 'protocol violation'
  | 'not authorized'
  | string;

/** The packet handlers' view of a parsed packet: mqtt-packet's union. */
export type Packet = mqtt.Packet;

/**
 * One client connection and the session it carries while connected. Mosca's Client surface
 * (`id`, `user`, `clean`, `keepalive`, `will`, `subscriptions`, `connection.stream`, `close`)
 * is kept for hooks and event listeners.
 */
export class Client {
  id = '';
  /** Set by an `authenticate` hook to carry the identity into later hooks (Mosca's convention). */
  user: unknown;
  clean = true;
  keepalive = 0;
  protocolVersion: 3 | 4 = 4;
  will: Will | null = null;
  /** Filters this client holds, Mosca's shape: `{ [filter]: { qos } }`. */
  readonly subscriptions: Record<string, { qos: QoS }> = Object.create(null);
  readonly connection: { stream: Duplex };
  /** True once CONNACK 0 went out; false again once closing starts. */
  connected = false;
  closing = false;
  /** Last time any byte arrived, for the keepalive monitor. */
  lastSeen = Date.now();
  readonly connectedAt = Date.now();

  /** QoS 2 packet ids received and not yet released, so a re-send is not delivered twice. */
  readonly incoming = new Set<number>();
  readonly outbound: OutboundQueue;

  private readonly reader: PacketReader;
  /** Packets waiting while an asynchronous handler runs: packets are handled strictly in order. */
  private backlog: Packet[] = [];
  private busy = false;
  private closed: Promise<void> | null = null;
  private closeListeners: ((reason: CloseReason) => void | Promise<void>)[] = [];
  /** authorizeForward verdicts, chained so that messages keep their order. */
  private forwardChain: Promise<void> = Promise.resolve();
  /** Store writes of this session, chained so they reach the Store in the order they were made. */
  private storeChain: Promise<void> = Promise.resolve();
  private log?: Logger;
  private corked = false;
  private readPauses = 0;
  /** Publishers paused for this client's sake (see throttle()). */
  private throttled: Set<Client> | null = null;

  constructor(
    readonly server: Broker,
    readonly stream: Duplex,
    readonly remoteAddress = 'local',
  ) {
    this.connection = { stream };
    this.outbound = new OutboundQueue(this);
    this.reader = new PacketReader(
      server.settings.maxPacketSize,
      (packet) => this.receive(packet),
      (error) => this.protocolError(error),
    );
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (error: Error) => {
      this.logger.debug({ err: error }, 'connection error');
      if (this.connected) server.emit('clientError', error, this);
      void this.close(error.message);
    });
    stream.on('close', () => void this.close('close'));
    stream.on('drain', () => this.onDrain());
    stream.on('end', () => void this.close('close'));
  }

  private onData(chunk: Buffer): void {
    this.lastSeen = Date.now();
    this.reader.push(chunk);
  }

  private protocolError(error: Error): void {
    if (this.closing) return;
    // [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK 1 before closing.
    if (!this.connected && error.message === 'Invalid protocol version') {
      this.write({ cmd: 'connack', returnCode: 1, sessionPresent: false });
    }
    this.logger.warn({ err: error.message }, 'malformed packet, closing the connection');
    if (this.connected) this.server.emit('clientError', error, this);
    void this.close('protocol violation');
  }

  private receive(packet: Packet): void {
    if (this.closing) return;
    if (this.busy) {
      this.backlog.push(packet);
      // Stop reading while the backlog drains, so a fast sender cannot grow it without bound.
      if (this.backlog.length === BACKLOG_HIGH) this.pauseReading();
      return;
    }
    this.handle(packet);
  }

  private handle(packet: Packet): void {
    let pending: void | Promise<void>;
    try {
      pending = dispatch(this, packet);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (pending) {
      this.busy = true;
      pending.then(() => this.drainBacklog(), (error: unknown) => this.fail(error));
    }
  }

  private drainBacklog(): void {
    this.busy = false;
    while (!this.busy && this.backlog.length > 0 && !this.closing) {
      const next = this.backlog.shift()!;
      if (this.backlog.length === BACKLOG_LOW) this.resumeReading();
      this.handle(next);
    }
  }

  /** Stops reading this connection; each pause is matched by one resumeReading(). */
  pauseReading(): void {
    if (this.readPauses++ === 0) this.stream.pause();
  }

  resumeReading(): void {
    if (--this.readPauses === 0 && !this.closing) this.stream.resume();
  }

  /** Whether this client's socket holds more unsent bytes than it should take on. */
  get congested(): boolean {
    return this.stream.writableLength > CONGESTION_BYTES;
  }

  /**
   * Backpressure: a publisher feeding this congested client stops being read until this
   * client's socket drains, so memory stays bounded and unrelated clients are not slowed.
   */
  throttle(publisher: Client | null): void {
    if (!publisher || publisher === this) return;
    this.throttled ??= new Set();
    if (this.throttled.has(publisher)) return;
    this.throttled.add(publisher);
    publisher.pauseReading();
  }

  private onDrain(): void {
    this.outbound.pump();
    if (this.congested) return;
    this.releaseThrottled();
  }

  private releaseThrottled(): void {
    const throttled = this.throttled;
    if (!throttled) return;
    this.throttled = null;
    for (const publisher of throttled) publisher.resumeReading();
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.logger.warn({ err }, 'closing the connection after an error');
    if (this.connected) this.server.emit('clientError', err, this);
    void this.close(err.message);
  }

  /** This connection's logger, made on first use: most connections never log. */
  get logger(): Logger {
    this.log ??= this.server.logger.child({ remote: this.remoteAddress });
    return this.log;
  }

  /** Writes one packet to the socket. */
  write(packet: Packet): void {
    this.writeBytes(mqtt.generate(packet));
  }

  /**
   * Writes encoded bytes. Writes made in one tick leave in one batch: the socket is corked at the
   * first and uncorked on the next tick, so a burst of deliveries costs one system call.
   */
  writeBytes(bytes: Buffer): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      stream.cork();
      process.nextTick(uncork, this);
    }
    stream.write(bytes);
  }

  /** @internal called by the next tick after a batch of writes. */
  flush(): void {
    this.corked = false;
    this.stream.uncork();
  }

  /** Sends a message to this client at min(message QoS, granted QoS). [MQTT-3.8.4-6] */
  deliver(message: Message, grantedQos: QoS, retain = false): void {
    const qos = (message.qos < grantedQos ? message.qos : grantedQos) as QoS;
    const forward = this.server.authorizeForward;
    if (!forward) {
      this.outbound.push(message, qos, retain);
      return;
    }
    this.forwardChain = this.forwardChain
      .then(() => callHook<boolean>(forward, this.server, [this, message]))
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'authorizeForward failed');
        return false;
      })
      .then((allowed) => {
        if (allowed) this.outbound.push(message, qos, retain);
        else this.logger.warn({ topic: message.topic }, 'Unauthorized Forward');
      });
  }

  /** Runs a Store write after the ones this session made before it. */
  persist(write: (clientId: string) => Promise<void>): Promise<void> {
    const id = this.id;
    const next = this.storeChain.then(() => write(id));
    this.storeChain = next.catch((error: unknown) => {
      this.logger.error({ err: error }, 'store write failed');
    });
    return next;
  }

  /** Whether this session outlives the connection (clean session not set). */
  get durable(): boolean {
    return !this.clean;
  }

  /** Re-sends what the Store holds as unacknowledged for this session. [MQTT-4.4.0-1] */
  resend(packets: OutgoingPacket[]): void {
    this.outbound.restore(packets);
  }

  /** Mosca's `client.close([callback], [reason])`. */
  close(callbackOrReason?: (() => void) | CloseReason, reason?: CloseReason): Promise<void> {
    const callback = typeof callbackOrReason === 'function' ? callbackOrReason : undefined;
    const why = (typeof callbackOrReason === 'string' ? callbackOrReason : reason) ?? 'close';
    if (!this.closed) this.closed = this.shutdown(why);
    if (callback) void this.closed.then(callback);
    return this.closed;
  }

  /** Registers session clean-up; close() resolves once every listener has finished. */
  onClose(listener: (reason: CloseReason) => void | Promise<void>): void {
    this.closeListeners.push(listener);
  }

  private async shutdown(reason: CloseReason): Promise<void> {
    const wasConnected = this.connected;
    this.closing = true;
    this.connected = false;
    if (wasConnected) this.server.emit('clientDisconnecting', this);
    this.stream.end();
    this.stream.destroy();
    this.releaseThrottled();
    for (const listener of this.closeListeners) {
      try {
        await listener(reason);
      } catch (error) {
        this.logger.error({ err: error }, 'session clean-up failed');
      }
    }
    await this.storeChain;
    if (wasConnected) this.server.emit('clientDisconnected', this, reason);
  }
}

function uncork(client: Client): void {
  client.flush();
}
