import type { Duplex } from 'node:stream';
import type mqtt from 'mqtt-packet';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import { dispatch } from '../handlers/dispatch.js';
import type { Message, QoS, Will } from '../types.js';
import { callHook } from '../hooks.js';
import { encodePacket, type ServerPacket } from './encoder.js';
import { CONGESTION_BYTES, FlowControl } from './flow-control.js';
import { OutboundQueue } from './outbound-queue.js';
import { endSession } from './session.js';
import { PacketReader } from './packet-reader.js';

/** Packets (and their bytes) held while an asynchronous handler runs before reading stops, and when it resumes. */
const BACKLOG_HIGH = 1024;
const BACKLOG_LOW = 512;
const BACKLOG_BYTES_HIGH = 1024 * 1024;
const BACKLOG_BYTES_LOW = 512 * 1024;
/** How long a closing connection may take to flush what was written to it. */
const HANG_UP_MS = 1000;

/** Where a connection is in its tick's batch of writes (see Client.writeBytes). */
const enum Batch {
  Idle,
  Wrote,
  Corked,
}

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
  | 'drain timeout'
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
  /** True when an `authenticate` hook accepted this client with a username; false for anonymous clients. */
  authenticated = false;
  clean = true;
  keepalive = 0;
  protocolVersion: 3 | 4 = 4;
  will: Will | null = null;
  /** Filters this client holds, Mosca's shape: `{ [filter]: { qos } }`. */
  readonly subscriptions: Record<string, { qos: QoS }> = Object.create(null);
  /** True once CONNACK 0 went out; false again once closing starts. */
  connected = false;
  closing = false;
  /** Last time any byte arrived (or reading resumed), for the keepalive monitor. */
  lastSeen = Date.now();
  readonly connectedAt = Date.now();

  readonly outbound: OutboundQueue;
  /** When this connection is read, and whom its congestion pauses. */
  readonly flow: FlowControl;
  /** Set once CONNECT was accepted: from then on, closing must end the session (endSession). */
  sessionStarted = false;

  // What follows is created on first use: an idle connection should cost little memory.
  /** QoS 2 packet ids received and not yet released, so a re-send is not delivered twice. */
  private incoming: Set<number> | null = null;
  private readonly reader: PacketReader;
  /** Packets waiting while an asynchronous handler runs: packets are handled strictly in order. */
  private backlog: Packet[] | null = null;
  private backlogBytes = 0;
  private backlogPaused = false;
  private busy = false;
  private closed: Promise<void> | null = null;
  /** authorizeForward verdicts, chained so that messages keep their order. */
  private forwardChain: Promise<void> | null = null;
  /** Store writes of this session, chained so they reach the Store in the order they were made. */
  private storeChain: Promise<void> | null = null;
  private log?: Logger;
  private batch = Batch.Idle;

  constructor(
    readonly server: Broker,
    readonly stream: Duplex,
    readonly remoteAddress = 'local',
  ) {
    this.outbound = new OutboundQueue(this);
    this.flow = new FlowControl(this);
    this.reader = new PacketReader(server.settings.maxPacketSize, this);
    // Listeners shared by every connection, finding their client on the stream: no closures.
    (stream as OwnedStream)[OWNER] = this;
    stream.on('data', onStreamData);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    stream.on('end', onStreamClose);
    stream.on('drain', onStreamDrain);
  }

  /** Mosca's `client.connection.stream`. */
  get connection(): { stream: Duplex } {
    return { stream: this.stream };
  }

  /** @internal bytes from the stream. */
  onData(chunk: Buffer): void {
    this.lastSeen = Date.now();
    this.reader.push(chunk);
  }

  /** @internal the stream failed. */
  onError(error: Error): void {
    this.logger.debug({ err: error }, 'connection error');
    if (this.connected) this.server.emit('clientError', error, this);
    void this.close(error.message);
  }

  /** @internal a malformed packet (PacketReader). */
  protocolError(error: Error): void {
    if (this.closing) return;
    // [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK 1 before closing.
    if (!this.connected && error.message === 'Invalid protocol version') {
      this.write({ cmd: 'connack', returnCode: 1, sessionPresent: false });
    }
    this.logger.warn({ err: error.message }, 'malformed packet, closing the connection');
    if (this.connected) this.server.emit('clientError', error, this);
    void this.close('protocol violation');
  }

  /** @internal a packet (PacketReader). */
  receive(packet: Packet): void {
    if (this.closing) return;
    if (this.busy) {
      this.backlog ??= [];
      this.backlog.push(packet);
      this.backlogBytes += backlogCost(packet);
      // Stop reading while the backlog drains, so a fast sender cannot grow it without bound.
      if (!this.backlogPaused && (this.backlog.length >= BACKLOG_HIGH || this.backlogBytes >= BACKLOG_BYTES_HIGH)) {
        this.backlogPaused = true;
        this.flow.pauseReading();
      }
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
    const backlog = this.backlog;
    while (!this.busy && backlog && backlog.length > 0 && !this.closing) {
      const next = backlog.shift()!;
      this.backlogBytes -= backlogCost(next);
      if (this.backlogPaused && backlog.length <= BACKLOG_LOW && this.backlogBytes <= BACKLOG_BYTES_LOW) {
        this.backlogPaused = false;
        this.flow.resumeReading();
      }
      this.handle(next);
    }
  }

  /** Records an inbound QoS 2 packet id; false when it is held already (a re-send). */
  receivedQos2(messageId: number): boolean {
    this.incoming ??= new Set();
    if (this.incoming.has(messageId)) return false;
    this.incoming.add(messageId);
    return true;
  }

  /** PUBREL: the id may carry a new message from now on. */
  releasedQos2(messageId: number): void {
    this.incoming?.delete(messageId);
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
  write(packet: ServerPacket): void {
    this.writeBytes(encodePacket(packet));
  }

  /**
   * Writes encoded bytes. The first write of a tick leaves at once (no added latency); further
   * writes in the same tick are corked and leave together on the next tick, so a burst of
   * deliveries costs two system calls, not one per packet.
   */
  writeBytes(bytes: Buffer): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    if (this.batch === Batch.Idle) {
      this.batch = Batch.Wrote;
      process.nextTick(endBatch, this);
    } else if (this.batch === Batch.Wrote) {
      this.batch = Batch.Corked;
      stream.cork();
    }
    stream.write(bytes);
    if (stream.writableLength > CONGESTION_BYTES) this.flow.onCongested();
  }

  /** @internal called on the tick after a write. */
  flush(): void {
    if (this.batch === Batch.Corked) this.stream.uncork();
    this.batch = Batch.Idle;
  }

  /** Sends a message to this client at min(message QoS, granted QoS). [MQTT-3.8.4-6] */
  deliver(message: Message, grantedQos: QoS, retain = false): void {
    const qos = (message.qos < grantedQos ? message.qos : grantedQos) as QoS;
    if (!this.server.authorizeForward) {
      this.outbound.push(message, qos, retain);
      return;
    }
    this.forwardChain = (this.forwardChain ?? Promise.resolve())
      .then(() => this.mayForward(message))
      .then((allowed) => {
        if (allowed) this.outbound.push(message, qos, retain);
      });
  }

  /** The authorizeForward verdict for this client (Mosca's hook); an error counts as a refusal. */
  async mayForward(message: Message): Promise<boolean> {
    const hook = this.server.authorizeForward;
    if (!hook) return true;
    let allowed = false;
    try {
      allowed = Boolean(await callHook<boolean>(hook, this.server, [this, message]));
    } catch (error) {
      this.logger.warn({ err: error }, 'authorizeForward failed');
    }
    if (!allowed) this.logger.warn({ topic: message.topic }, 'Unauthorized Forward');
    return allowed;
  }

  /** Runs a Store write after the ones this session made before it. */
  persist(write: (clientId: string) => Promise<void>): Promise<void> {
    const id = this.id;
    const next = this.storeChain ? this.storeChain.then(() => write(id)) : write(id);
    this.storeChain = next.catch((error: unknown) => {
      this.logger.error({ err: error }, 'store write failed');
    });
    return next;
  }

  /** Whether this session outlives the connection (clean session not set). */
  get durable(): boolean {
    return !this.clean;
  }

  /** Mosca's `client.close([callback], [reason])`. */
  close(callbackOrReason?: (() => void) | CloseReason, reason?: CloseReason): Promise<void> {
    const callback = typeof callbackOrReason === 'function' ? callbackOrReason : undefined;
    const why = (typeof callbackOrReason === 'string' ? callbackOrReason : reason) ?? 'close';
    if (!this.closed) this.closed = this.shutdown(why);
    if (callback) void this.closed.then(callback);
    return this.closed;
  }

  /**
   * Closes the stream after what was written to it (a refusing CONNACK, say) has left, but gives
   * a peer that does not read at most HANG_UP_MS.
   */
  private hangUp(): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    this.flush();
    const timer = setTimeout(() => stream.destroy(), HANG_UP_MS);
    timer.unref();
    stream.end(() => {
      clearTimeout(timer);
      stream.destroy();
    });
  }

  private async shutdown(reason: CloseReason): Promise<void> {
    const wasConnected = this.connected;
    this.closing = true;
    this.connected = false;
    if (wasConnected) this.server.emit('clientDisconnecting', this);
    this.hangUp();
    this.flow.releaseThrottled();
    try {
      if (this.sessionStarted) await endSession(this, reason);
    } catch (error) {
      this.logger.error({ err: error }, 'session clean-up failed');
    }
    this.outbound.discard();
    await this.storeChain;
    this.server.forget(this);
    if (wasConnected) this.server.emit('clientDisconnected', this, reason);
  }
}

function endBatch(client: Client): void {
  client.flush();
}

/** What a packet waiting in the backlog holds: its payload and topic (PUBLISH), a few bytes otherwise. */
function backlogCost(packet: Packet): number {
  return packet.cmd === 'publish' ? packet.payload.length + packet.topic.length : 16;
}

const OWNER = Symbol('skynet-mqtt client');
type OwnedStream = Duplex & { [OWNER]: Client };

function onStreamData(this: OwnedStream, chunk: Buffer): void {
  this[OWNER].onData(chunk);
}

function onStreamError(this: OwnedStream, error: Error): void {
  this[OWNER].onError(error);
}

function onStreamClose(this: OwnedStream): void {
  void this[OWNER].close('close');
}

function onStreamDrain(this: OwnedStream): void {
  this[OWNER].flow.onDrain();
}
