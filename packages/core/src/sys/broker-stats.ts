import { LatencySampler } from './latency-sampler.js';

/** Why the broker closed a connection for what it sent; each has its own counter. */
export type CloseCause =
  /** A malformed packet or a protocol violation. */
  | 'protocolError'
  /** A packet (or WebSocket frame) larger than `maxPacketSize`. */
  | 'packetTooLarge'
  /** A packet still incomplete `incompletePacketTimeout` ms after its first byte. */
  | 'incompletePacketTimeout'
  /** A packet the budget of bytes held for incomplete packets (`maxIncompletePacketBytes`) could not take. */
  | 'incompletePacketBudget'
  /** A PUBLISH to a topic of more than `maxTopicLevels` levels. */
  | 'topicTooDeep';

export const CLOSE_CAUSES: readonly CloseCause[] = ['protocolError', 'packetTooLarge', 'incompletePacketTimeout', 'incompletePacketBudget', 'topicTooDeep'];

/** Why a message was dropped; each reason has its own counter (and `$SYS/<id>/messages/dropped/<reason>`). */
export type DropReason =
  /** A client's in-memory queue was full (`maxQueuedMessages` or `maxQueuedBytes`): its oldest waiting message. */
  | 'queueFull'
  /** QoS 0 for a subscriber whose socket stayed congested beyond `publisherPauseTimeout`. */
  | 'slowConsumer'
  /** A Store's offline queue was full (its `maxQueuedMessages` or `maxQueuedBytes`): its oldest message. */
  | 'offlineQueueFull'
  /** The broker-wide budget of queued bytes (`maxTotalQueuedBytes`) was spent. */
  | 'memoryBudget'
  /** A client published to `$SYS` or `$CONTROL`: acknowledged and dropped, as Mosquitto does. */
  | 'reservedTopic'
  /** An MQTT 5 message whose Message Expiry Interval ran out before it could be sent. [MQTT-3.3.2-5] */
  | 'expired'
  /** A message larger than the Maximum Packet Size its MQTT 5 subscriber set. [MQTT-3.1.2-25] */
  | 'packetTooLarge'
  /** QoS 0 the Emitter could not pass on: what waited for its backend was at the Emitter's limit (the MQTT bridge's maxQueuedBytes). */
  | 'emitterBacklog';

export const DROP_REASONS: readonly DropReason[] = ['queueFull', 'slowConsumer', 'offlineQueueFull', 'memoryBudget', 'reservedTopic', 'expired', 'packetTooLarge', 'emitterBacklog'];

/** Why a connection was refused; each reason has its own counter. */
export type RefusalReason =
  /** `maxConnections` reached: CONNACK 3 (5.0: Server busy), or the socket closed at once far beyond it. */
  | 'maxConnections'
  /** The listener's `connectionRate` was exceeded: the socket is closed at once. */
  | 'connectionRate'
  /** CONNACK 1 (5.0: Unsupported Protocol Version). */
  | 'protocolVersion'
  /** CONNACK 2 (5.0: Client Identifier not valid), a keepalive beyond maxKeepalive included. */
  | 'identifierRejected'
  /** CONNACK 4 (5.0: Bad User Name or Password): the authenticate hook failed. */
  | 'badCredentials'
  /** CONNACK 5 (5.0: Not authorized): the authenticate hook said no, or a will on a reserved topic. */
  | 'notAuthorized'
  /** Any other refusal (a redirection, an invalid will topic, an enhanced authentication that failed). */
  | 'other';

export const REFUSAL_REASONS: readonly RefusalReason[] = ['maxConnections', 'connectionRate', 'protocolVersion', 'identifierRejected', 'badCredentials', 'notAuthorized', 'other'];

/** Why a retained message was delivered but not kept. */
export type RetainedRefusal =
  /** `maxRetainedMessages` were retained already and its topic had none. */
  | 'count'
  /** Its payload was larger than `maxRetainedPayloadSize`. */
  | 'size';

export const RETAINED_REFUSALS: readonly RetainedRefusal[] = ['count', 'size'];

/** Connections and received messages per minute over some minutes (Mosca's `load.m1` ...). */
export interface Load {
  connectedClients: number;
  publishedMessages: number;
}

/**
 * Counters of this broker instance, read by the `$SYS` publisher and the admin plugin's metrics;
 * kept as plain fields so hot paths only increment. Mosca's names (`server.stats.connectedClients`
 * ...) read the same counters.
 */
export class BrokerStats {
  connected = 0;
  maximumConnected = 0;
  /** Connections accepted (CONNACK 0) since start. */
  connectionsAccepted = 0;
  /** Connections refused, by reason. */
  readonly refusedBy: Record<RefusalReason, number> = { maxConnections: 0, connectionRate: 0, protocolVersion: 0, identifierRejected: 0, badCredentials: 0, notAuthorized: 0, other: 0 };
  publishReceived = 0;
  publishSent = 0;
  /** PUBLISH packets received from clients, by QoS. */
  readonly receivedByQos: [number, number, number] = [0, 0, 0];
  /** PUBLISH packets sent to clients, by QoS (re-sends after a reconnect not counted). */
  readonly sentByQos: [number, number, number] = [0, 0, 0];
  /** Bytes read from and written to client connections (MQTT packets, WebSocket framing excluded). */
  bytesReceived = 0;
  bytesSent = 0;
  /** Messages published on this broker (clients, wills, `server.publish()`), `$SYS` excepted: Mosca's count. */
  publishedMessages = 0;
  /** Averages over 1, 5 and 15 minutes, updated by the `$SYS` publisher (`stats: true`). */
  readonly load: Record<'m1' | 'm5' | 'm15', Load> = {
    m1: { connectedClients: 0, publishedMessages: 0 },
    m5: { connectedClients: 0, publishedMessages: 0 },
    m15: { connectedClients: 0, publishedMessages: 0 },
  };
  /** Messages dropped, all reasons together (`$SYS/<id>/messages/dropped`). */
  dropped = 0;
  /** Connections closed for what they sent, by cause (`$SYS/<id>/clients/closed/<cause>`). */
  readonly closedBy: Record<CloseCause, number> = { protocolError: 0, packetTooLarge: 0, incompletePacketTimeout: 0, incompletePacketBudget: 0, topicTooDeep: 0 };
  /** Messages dropped, by reason. */
  readonly droppedBy: Record<DropReason, number> = { queueFull: 0, slowConsumer: 0, offlineQueueFull: 0, memoryBudget: 0, reservedTopic: 0, expired: 0, packetTooLarge: 0, emitterBacklog: 0 };
  /** Retained messages delivered but not kept, by reason. */
  readonly retainedRefusedBy: Record<RetainedRefusal, number> = { count: 0, size: 0 };
  /** Times a client's socket stopped being read because it published faster than `maxPublishRate`. */
  publishRateLimited = 0;
  /** Publish-to-delivery latency, when something arms it. */
  readonly latency = new LatencySampler();
  readonly startedAt = new Date();

  /** Mosca's name for `connected`. */
  get connectedClients(): number {
    return this.connected;
  }

  /** Mosca's name for `maximumConnected`. */
  get maxConnectedClients(): number {
    return this.maximumConnected;
  }

  /** Mosca's name for `startedAt`. */
  get started(): Date {
    return this.startedAt;
  }

  clientConnected(): void {
    this.connectionsAccepted++;
    this.connected++;
    if (this.connected > this.maximumConnected) this.maximumConnected = this.connected;
  }

  clientDisconnected(): void {
    this.connected--;
  }

  closedFor(cause: CloseCause): void {
    this.closedBy[cause]++;
  }

  drop(reason: DropReason, count = 1): void {
    this.dropped += count;
    this.droppedBy[reason] += count;
  }

  refuse(reason: RefusalReason): void {
    this.refusedBy[reason]++;
  }
}
