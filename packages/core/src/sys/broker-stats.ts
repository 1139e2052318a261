/** Why the broker closed a connection for what it sent; each has its own counter. */
export type CloseCause =
  /** A malformed packet or a protocol violation. */
  | 'protocolError'
  /** A packet (or WebSocket frame) larger than `maxPacketSize`. */
  | 'packetTooLarge'
  /** A packet still incomplete `incompletePacketTimeout` ms after its first byte. */
  | 'incompletePacketTimeout'
  /** A packet the budget of bytes held for incomplete packets (`maxIncompletePacketBytes`) could not take. */
  | 'incompletePacketBudget';

export const CLOSE_CAUSES: readonly CloseCause[] = ['protocolError', 'packetTooLarge', 'incompletePacketTimeout', 'incompletePacketBudget'];

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
  | 'packetTooLarge';

export const DROP_REASONS: readonly DropReason[] = ['queueFull', 'slowConsumer', 'offlineQueueFull', 'memoryBudget', 'reservedTopic', 'expired', 'packetTooLarge'];

/** Connections and received messages per minute over some minutes (Mosca's `load.m1` ...). */
export interface Load {
  connectedClients: number;
  publishedMessages: number;
}

/**
 * Counters the `$SYS` publisher reads; kept as plain fields so hot paths only increment. Mosca's
 * names (`server.stats.connectedClients` ...) read the same counters.
 */
export class BrokerStats {
  connected = 0;
  maximumConnected = 0;
  publishReceived = 0;
  publishSent = 0;
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
  readonly closedBy: Record<CloseCause, number> = { protocolError: 0, packetTooLarge: 0, incompletePacketTimeout: 0, incompletePacketBudget: 0 };
  /** Messages dropped, by reason. */
  readonly droppedBy: Record<DropReason, number> = { queueFull: 0, slowConsumer: 0, offlineQueueFull: 0, memoryBudget: 0, reservedTopic: 0, expired: 0, packetTooLarge: 0 };
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
}
