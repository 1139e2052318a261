import type { Message, OutgoingPacket, QoS } from '../types.js';
import type { Client } from './client.js';
import { encodePublish, encodeSharedQos0 } from './publish-encoder.js';

interface Waiting {
  message: Message;
  qos: QoS;
  retain: boolean;
}

/**
 * Messages on their way to one client: those in flight (sent at QoS 1/2, not yet acknowledged)
 * and those waiting behind the in-flight window (`maxInflightMessages`). The waiting list is
 * bounded by `maxQueuedMessages`: beyond it the oldest waiting message is dropped and counted.
 */
export class OutboundQueue {
  /** Unacknowledged packets by packet id, in the order they were sent; made on first use. */
  private inflight: Map<number, OutgoingPacket> | null = null;
  private waiting: Waiting[] = [];
  private lastId = 0;
  private warnedFull = false;

  constructor(private readonly client: Client) {}

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Queues or sends a message at the given QoS, keeping the order messages were pushed in. */
  push(message: Message, qos: QoS, retain: boolean): void {
    const client = this.client;
    if (client.connected && this.waiting.length === 0 && !client.congested && (qos === 0 || this.hasRoom())) {
      this.send(message, qos, retain);
      return;
    }
    if (client.connected && client.congested) client.throttle(client.server.publishing);
    const { maxQueuedMessages } = this.client.server.settings;
    if (this.waiting.length >= maxQueuedMessages) {
      this.waiting.shift();
      this.client.server.stats.dropped++;
      if (!this.warnedFull) {
        this.warnedFull = true;
        this.client.logger.warn({ clientId: this.client.id, maxQueuedMessages }, 'client queue full, dropping its oldest messages');
      }
    }
    this.waiting.push({ message, qos, retain });
  }

  /** Puts older messages (the Store's offline queue) ahead of what is waiting, then sends. */
  prepend(messages: Message[]): void {
    // Queued messages were stored at the QoS they are due at.
    const older = messages.map((message) => ({ message, qos: message.qos, retain: false }));
    this.waiting = older.concat(this.waiting);
    this.pump();
  }

  /** Sends what waits, as far as the in-flight window allows. */
  pump(): void {
    while (this.client.connected && this.waiting.length > 0 && !this.client.congested) {
      const next = this.waiting[0]!;
      if (next.qos > 0 && !this.hasRoom()) return;
      this.waiting.shift();
      this.send(next.message, next.qos, next.retain);
    }
    if (this.waiting.length === 0) this.warnedFull = false;
  }

  private hasRoom(): boolean {
    return (this.inflight?.size ?? 0) < this.client.server.settings.maxInflightMessages;
  }

  private send(message: Message, qos: QoS, retain: boolean): void {
    const client = this.client;
    client.server.stats.publishSent++;
    if (qos === 0) {
      client.writeBytes(retain ? encodePublish(message.topic, message.payload, 0, true, false, 0) : encodeSharedQos0(message));
      return;
    }
    const packet: OutgoingPacket = { topic: message.topic, payload: message.payload, qos, retain, messageId: this.nextId() };
    (this.inflight ??= new Map()).set(packet.messageId, packet);
    if (client.durable) void client.persist((id) => client.server.store.putOutgoing(id, packet));
    client.writeBytes(encodePublish(packet.topic, packet.payload, qos, retain, false, packet.messageId));
  }

  /** A free packet id: ids in flight are skipped, and 0 is never used. [MQTT-2.3.1-1] */
  private nextId(): number {
    do {
      this.lastId = this.lastId === 65535 ? 1 : this.lastId + 1;
    } while (this.inflight?.has(this.lastId));
    return this.lastId;
  }

  /** PUBACK (QoS 1) or PUBCOMP (QoS 2): the message is delivered. */
  complete(messageId: number, expectedQos: 1 | 2): void {
    const packet = this.inflight?.get(messageId);
    if (!packet || packet.qos !== expectedQos) return;
    this.inflight!.delete(messageId);
    const client = this.client;
    if (client.durable) void client.persist((id) => client.server.store.removeOutgoing(id, messageId));
    client.server.emit('delivered', packet, client);
    this.pump();
  }

  /** PUBREC: the client has the QoS 2 message; from now on only PUBREL is re-sent. [MQTT-4.3.3-1] */
  received(messageId: number): boolean {
    const packet = this.inflight?.get(messageId);
    if (!packet || packet.qos !== 2) return false;
    if (!packet.released) {
      const released: OutgoingPacket = { ...packet, released: true };
      this.inflight!.set(messageId, released);
      const client = this.client;
      if (client.durable) void client.persist((id) => client.server.store.putOutgoing(id, released));
    }
    return true;
  }

  /**
   * Re-sends packets a durable session left unacknowledged, with DUP set, keeping their ids;
   * a released QoS 2 packet gets its PUBREL again. [MQTT-4.4.0-1] [MQTT-3.3.1-1]
   */
  restore(packets: OutgoingPacket[]): void {
    for (const packet of packets) {
      (this.inflight ??= new Map()).set(packet.messageId, packet);
      if (packet.released) {
        this.client.write({ cmd: 'pubrel', messageId: packet.messageId });
      } else {
        const { topic, payload, qos, retain, messageId } = packet;
        this.client.writeBytes(encodePublish(topic, payload, qos, retain, true, messageId));
      }
    }
    if (packets.length > 0) this.lastId = packets[packets.length - 1]!.messageId;
  }

  /** Hands back what never left, for a durable session's offline queue, and empties the queue. */
  takeWaiting(): Message[] {
    const messages = this.waiting.map((w) => (w.qos === w.message.qos ? w.message : { ...w.message, qos: w.qos }));
    this.waiting = [];
    return messages;
  }
}
