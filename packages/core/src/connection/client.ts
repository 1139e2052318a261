import type { Duplex } from 'node:stream';
import type { Level, Logger } from 'pino';
import type { Broker } from '../broker.js';
import { dispatch } from '../handlers/dispatch.js';
import type { Message, ProtocolLevel, QoS, Subscription, Will } from '../types.js';
import { callHook } from '../hooks.js';
import type { PublishRateLimiter } from '../limits/publish-rate.js';
import { encodePacket, SplitPublish, type PublishBytes, type ServerPacket } from './encoder.js';
import { CONGESTION_BYTES, FlowControl } from './flow-control.js';
import { encodePacketV5 } from './encoder-v5.js';
import { disconnectReasonCode, ProtocolViolation, Reason } from './reason-codes.js';
import { OutboundQueue } from './outbound-queue.js';
import { endSession } from './session.js';
import type { CloseCause } from '../sys/broker-stats.js';
import type { InboundPacket } from './inbound-packets.js';
import type { Mqtt5Connection } from './mqtt5-connection.js';
import { PacketReader } from './packet-reader.js';
import { countRead } from './read-buffers.js';
import type { DecodedProperties } from './properties.js';
import { unref } from '../timers.js';
import { logsAt } from '../logger.js';

/** Packets (and their bytes) held while an asynchronous handler runs before reading stops, and when it resumes. */
const BACKLOG_HIGH = 1024;
const BACKLOG_LOW = 512;
const BACKLOG_BYTES_HIGH = 1024 * 1024;
const BACKLOG_BYTES_LOW = 512 * 1024;
/**
 * QoS 1 publishes of one connection routed side by side at most (Client.acknowledgeInOrder):
 * enough to cover a round trip to a shared backend at a client's usual window of 100.
 */
const MAX_ROUTING = 128;
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

/** The packet handlers' view of a parsed packet: mqtt-packet's union, PUBLISH and CONNECT read by PacketReader. */
export type Packet = InboundPacket;


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
  protocolVersion: ProtocolLevel = 4;
  will: Will | null = null;
  /**
   * Seconds the session outlives the connection: MQTT 5's Session Expiry Interval. A 3.1.1
   * durable session has 0xFFFFFFFF (kept until the Store's `ttl.subscriptions`), a clean one 0.
   */
  sessionExpiryInterval = 0;
  /** MQTT 5: seconds the will waits after the connection ends (Will Delay Interval). */
  willDelayInterval = 0;
  /** What MQTT 5 adds to the connection; null for 3.1/3.1.1 clients (and before CONNECT). */
  mqtt5: Mqtt5Connection | null = null;
  /** Filters this client holds, Mosca's shape: `{ [filter]: { qos } }` (with MQTT 5 options). */
  readonly subscriptions: Record<string, Subscription> = Object.create(null);
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
  /**
   * When this connection took its client id (Server.takeOver), on a clock every instance keeps
   * ahead of the stamps it hears of: of two connections with one id, the later stamp keeps it.
   */
  takeoverStamp = 0;
  /**
   * Broker.routedCount when this connection's stored subscriptions joined the router: a message
   * routed here before it was not delivered to it (the publisher then queues it, see Server).
   */
  subscribedAt = 0;
  /** Counted against `maxConnections` (see ConnectionGate). */
  admitted = false;
  /** This client's `maxPublishRate`, when the broker has one. */
  publishRate: PublishRateLimiter | null = null;

  // What follows is created on first use: an idle connection should cost little memory.
  /** QoS 2 packet ids received and not yet released, so a re-send is not delivered twice. */
  private incoming: Set<number> | null = null;
  private readonly reader: PacketReader;
  /** Packets waiting while an asynchronous handler runs: packets are handled strictly in order. */
  private backlog: Packet[] | null = null;
  private backlogBytes = 0;
  private backlogPaused = false;
  private busy = false;
  /** QoS 1 publishes being routed while later packets are read, and the promise of the last one's PUBACK. */
  private routingCount = 0;
  private lastAck: Promise<void> = Promise.resolve();
  private closed: Promise<void> | null = null;
  /** authorizeForward verdicts, chained so that messages keep their order. */
  private forwardChain: Promise<void> | null = null;
  /** Store writes of this session, chained so they reach the Store in the order they were made. */
  private storeChain: Promise<void> | null = null;
  private log?: Logger;
  private batch = Batch.Idle;
  /** Whether CONNACK went out: only one may. [MQTT-3.2.0-2] */
  private connackSent = false;
  /** The DISCONNECT a 5.0 client is sent when the server closes the connection (disconnect()). */
  private farewell: { reasonCode: number; reasonString?: string } | null = null;

  constructor(
    readonly server: Broker,
    readonly stream: Duplex,
    readonly remoteAddress = 'local',
  ) {
    this.outbound = new OutboundQueue(this);
    this.flow = new FlowControl(this);
    this.reader = new PacketReader(server.settings.maxPacketSize, this, server.incompletePackets);
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
    this.server.stats.bytesReceived += chunk.length;
    countRead(chunk.length);
    this.reader.push(chunk);
  }

  /** Date.now() when the packet still arriving began, 0 between packets (for the keepalive monitor). */
  get incompleteSince(): number {
    return this.reader.incompleteSince;
  }

  /** @internal the stream failed. */
  onError(error: Error): void {
    // ws refuses a frame beyond its maxPayload (maxPacketSize) from the frame's header.
    if ((error as NodeJS.ErrnoException).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      return this.limitExceeded('packetTooLarge', `a WebSocket frame larger than maxPacketSize (${this.server.settings.maxPacketSize})`);
    }
    if (this.logs('debug')) this.logger.debug({ err: error }, 'connection error');
    if (this.connected) this.server.emit('clientError', error, this);
    void this.close(error.message);
  }

  /** @internal the CONNECT's protocol level, read before the rest of it (PacketReader). */
  levelAnnounced(level: ProtocolLevel): void {
    this.protocolVersion = level;
  }

  /** A malformed packet or a protocol violation (PacketReader, handlers): logged, counted, closed. */
  protocolError(error: Error): void {
    if (this.closing) return;
    const reasonCode = error instanceof ProtocolViolation ? error.reasonCode : Reason.MalformedPacket;
    if (!this.connected && reasonCode === Reason.UnsupportedProtocolVersion) {
      this.server.stats.refuse('protocolVersion');
      // [MQTT-3.1.2-2] an unsupported protocol level is answered with CONNACK 1 (3.1.1's "unacceptable
      // protocol version") before closing: the client's level is unknown, so 3.1.1's encoding.
      this.writeBytes(encodePacket({ cmd: 'connack', reasonCode, sessionPresent: false }));
    }
    this.logger.warn({ clientId: this.id || undefined, err: error.message }, 'protocol violation, closing the connection');
    this.server.stats.closedFor('protocolError');
    if (this.connected) this.server.emit('clientError', error, this);
    // A 5.0 client is told why: in CONNACK while connecting, in DISCONNECT after. [MQTT-4.13.1-1]
    if (this.protocolVersion === 5 && !this.connackSent) this.write({ cmd: 'connack', reasonCode, sessionPresent: false });
    void this.disconnect(reasonCode, 'protocol violation', error.message);
  }

  /** @internal a limit refused what this connection sends (PacketReader, keepalive monitor): logged, counted, closed. */
  limitExceeded(limit: Exclude<CloseCause, 'protocolError'>, reason: string): void {
    if (this.closing) return;
    this.logger.warn({ clientId: this.id || undefined, limit, reason }, 'limit exceeded, closing the connection');
    this.server.stats.closedFor(limit);
    const reasonCode = limit === 'packetTooLarge' ? Reason.PacketTooLarge : limit === 'topicTooDeep' ? Reason.TopicNameInvalid : Reason.QuotaExceeded;
    // A 5.0 client is told why, as for a protocol error. [MQTT-4.13.2-1]
    if (this.protocolVersion === 5 && !this.connackSent) this.write({ cmd: 'connack', reasonCode, sessionPresent: false });
    void this.disconnect(reasonCode, reason, reason);
  }

  /** MQTT 5: the properties of the client's CONNECT (Mosca-style hooks read them here). */
  get connectProperties(): DecodedProperties | undefined {
    return this.mqtt5?.connectProperties;
  }

  /** @internal a packet (PacketReader). */
  receive(packet: Packet): void {
    if (this.closing) return;
    // [MQTT-3.3.4-7] a 5.0 client keeps within the broker's Receive Maximum (a 3.1.1 client pays one comparison).
    if (this.mqtt5 !== null && packet.cmd === 'publish' && packet.qos > 0 && !this.mqtt5.publishReceived(packet.messageId!)) {
      void this.disconnect(Reason.ReceiveMaximumExceeded, 'protocol violation', 'Receive Maximum exceeded');
      return;
    }
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
      // A packet other than PUBLISH waits for the publishes routed ahead of it (acknowledgeInOrder).
      pending = this.routingCount > 0 && packet.cmd !== 'publish' ? this.lastAck.then(() => dispatch(this, packet)) : dispatch(this, packet);
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

  /** @internal settles once every publish routed side by side so far is acknowledged; null when none is. */
  get routing(): Promise<void> | null {
    return this.routingCount > 0 ? this.lastAck : null;
  }

  /**
   * @internal a QoS 1 PUBLISH routed while the next packets are read (handlePublish): each is routed
   * as it arrives, so the Emitter gets them in order (the order per publisher), and `acknowledge`
   * runs once it and every earlier one are routed, so the PUBACKs keep the order of the PUBLISH
   * packets [MQTT-4.6.0-2]. A shared backend's round trips then overlap instead of adding up.
   * Returns a promise to wait on (as a handler does) once MAX_ROUTING are unacknowledged.
   */
  acknowledgeInOrder(routed: Promise<void>, acknowledge: () => void): Promise<void> | void {
    this.routingCount++;
    const acked = Promise.all([this.lastAck, routed])
      .then(
        () => {
          if (!this.closing) acknowledge();
        },
        (error: unknown) => this.fail(error),
      )
      .finally(() => this.routingCount--);
    this.lastAck = acked;
    return this.routingCount >= MAX_ROUTING ? acked : undefined;
  }

  /** Records an inbound QoS 2 packet id; false when it is held already (a re-send). */
  receivedQos2(messageId: number): boolean {
    this.incoming ??= new Set();
    if (this.incoming.has(messageId)) return false;
    this.incoming.add(messageId);
    return true;
  }

  /** PUBREL: the id may carry a new message from now on; true when it was held. */
  releasedQos2(messageId: number): boolean {
    return this.incoming?.delete(messageId) ?? false;
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

  /**
   * Whether messages at `level` are written: what every connection logs in its normal course
   * (connected, disconnected) checks first, so that a connection makes its logger only when it
   * has something to say.
   */
  logs(level: Level): boolean {
    return logsAt(this.server.logger, level);
  }

  /** Writes one packet to the socket, encoded for the client's protocol level. */
  write(packet: ServerPacket): void {
    if (packet.cmd === 'connack') {
      if (this.connackSent) return;
      this.connackSent = true;
    }
    if (this.protocolVersion !== 5) this.writeBytes(encodePacket(packet));
    // Before CONNECT is handled (a malformed one), a 5.0 client has no limits yet.
    else this.writeBytes(this.mqtt5 ? this.mqtt5.encode(packet) : encodePacketV5(packet));
  }

  /**
   * Closes the connection for a reason the client should know: a connected 5.0 client gets a
   * DISCONNECT with `reasonCode` (and `reasonString`) first. [MQTT-4.13.2-1]
   */
  disconnect(reasonCode: number, reason: CloseReason, reasonString?: string): Promise<void> {
    if (!this.closed) this.farewell = { reasonCode, reasonString };
    return this.close(reason);
  }

  /**
   * Writes encoded bytes. The first write of a tick leaves at once (no added latency); further
   * writes in the same tick are corked and leave together on the next tick, so a burst of
   * deliveries costs two system calls, not one per packet. A SplitPublish is corked from its
   * header on, so header and payload leave together.
   */
  writeBytes(bytes: PublishBytes): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    this.server.stats.bytesSent += bytes.length;
    const split = bytes instanceof SplitPublish;
    if (this.batch === Batch.Idle) {
      this.batch = Batch.Wrote;
      process.nextTick(endBatch, this);
      // A header and its payload are two writes: corked at once, they leave in one system call.
      if (split) this.cork();
    } else if (this.batch === Batch.Wrote) {
      this.cork();
    }
    if (split) {
      stream.write(bytes.head);
      stream.write(bytes.payload);
    } else {
      stream.write(bytes);
    }
    if (stream.writableLength > CONGESTION_BYTES) this.flow.onCongested();
  }

  private cork(): void {
    this.batch = Batch.Corked;
    this.stream.cork();
  }

  /** @internal called on the tick after a write. */
  flush(): void {
    if (this.batch === Batch.Corked) this.stream.uncork();
    this.batch = Batch.Idle;
  }

  /**
   * Sends a message to this client at min(message QoS, granted QoS) [MQTT-3.8.4-6]; `group` names
   * the shared subscription it came through, which gets it back if this client leaves first.
   */
  deliver(message: Message, grantedQos: QoS, retain = false, group?: string): void {
    const qos = (message.qos < grantedQos ? message.qos : grantedQos) as QoS;
    if (!this.server.authorizeForward) {
      this.outbound.push(message, qos, retain, group);
      return;
    }
    this.forwardChain = (this.forwardChain ?? Promise.resolve())
      .then(() => this.mayForward(message))
      .then((allowed) => {
        if (allowed) this.outbound.push(message, qos, retain, group);
      });
  }

  /** The authorizeForward verdict for this client (Mosca's hook); an error counts as a refusal. */
  async mayForward(message: Message): Promise<boolean> {
    if (!this.server.authorizeForward) return true;
    let allowed = false;
    try {
      allowed = Boolean(await callHook<boolean>(this.server, 'authorizeForward', [this, message]));
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

  /**
   * Runs `action` once the Store writes this session made so far are done (at once when none is
   * pending), whether they succeeded or not: what the client is told must not run ahead of what a
   * broker instance taking over after a crash will find (QoS 2 exactly once).
   */
  afterStoreWrites(action: () => void): void {
    if (this.storeChain) void this.storeChain.then(action);
    else action();
  }

  /**
   * How long the Store keeps this session once offline, in milliseconds: a 5.0 client's Session
   * Expiry Interval; undefined for 3.1.1, whose durable sessions last the Store's `ttl.subscriptions`.
   */
  get sessionExpiryMs(): number | undefined {
    return this.protocolVersion === 5 ? this.sessionExpiryInterval * 1000 : undefined;
  }

  /** Whether this session's state lives in the Store while connected (3.1.1: clean session not set). */
  get durable(): boolean {
    return !this.clean;
  }

  /** Mosca's `client.close([callback], [reason])`. */
  close(callbackOrReason?: (() => void) | CloseReason, reason?: CloseReason): Promise<void> {
    const callback = typeof callbackOrReason === 'function' ? callbackOrReason : undefined;
    const why = (typeof callbackOrReason === 'string' ? callbackOrReason : reason) ?? 'close';
    if (!this.closed) this.closed = this.shutdown(why);
    if (callback) {
      void this.closed.then(() => {
        try {
          callback();
        } catch (error) {
          this.server.reportApplicationError(error, 'a client.close() callback');
        }
      });
    }
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
    unref(timer);
    stream.end(() => {
      clearTimeout(timer);
      stream.destroy();
    });
  }

  private async shutdown(reason: CloseReason): Promise<void> {
    const wasConnected = this.connected;
    this.closing = true;
    this.connected = false;
    this.reader.stop();
    if (wasConnected) {
      if (this.logs('info')) this.logger.info({ clientId: this.id, reason }, 'client disconnected');
      this.server.emit('clientDisconnecting', this);
    }
    if (wasConnected && this.protocolVersion === 5) this.sayFarewell(reason);
    this.hangUp();
    this.flow.releaseThrottled();
    this.publishRate?.stop();
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

  /** The DISCONNECT a 5.0 client gets when the server ends its connection, if there is one to send. */
  private sayFarewell(reason: CloseReason): void {
    const reasonCode = this.farewell?.reasonCode ?? disconnectReasonCode(reason);
    if (reasonCode === undefined || !this.stream.writable) return;
    const reasonString = this.farewell?.reasonString;
    this.write({ cmd: 'disconnect', reasonCode, properties: reasonString ? { reasonString } : undefined });
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
