import { messageCost } from '../limits/byte-budget.js';
import type { DropReason } from '../sys/broker-stats.js';
import type { Message, OutgoingPacket, QoS, QueuedMessage } from '../types.js';
import type { Client } from './client.js';
import { encodePublish, encodeSharedQos0 } from './encoder.js';

interface Waiting {
  message: Message;
  qos: QoS;
  retain: boolean;
  /** What it counts for in the byte limits (messageCost). */
  cost: number;
}

/** How many messages the first fetch from the Store's queue reads, before their size is known. */
const FIRST_REFILL = 16;

/**
 * Messages on their way to one client: those in flight (sent at QoS 1/2, not yet acknowledged)
 * and those waiting behind the in-flight window (`maxInflightMessages`).
 *
 * Where a message waits depends on what losing it would cost. A durable session's QoS 1/2
 * messages wait in the Store's queue, so a crash loses nothing a publisher saw acknowledged; they
 * leave it only once they are in flight (refill()). Everything else waits in memory, bounded by
 * `maxQueuedMessages` and `maxQueuedBytes` (beyond them the oldest waiting message is dropped) and
 * by the process-wide `maxTotalQueuedBytes` (a message that does not fit is dropped). The in-flight
 * window is bounded by `maxInflightMessages` and `maxInflightBytes`. Every drop is counted and logged.
 */
export class OutboundQueue {
  /** Unacknowledged packets by packet id, in the order they were sent; made on first use. */
  private inflight: Map<number, OutgoingPacket> | null = null;
  private inflightBytes = 0;
  private waiting: Waiting[] = [];
  private waitingBytes = 0;
  private lastId = 0;
  /** Average cost of the messages of the last fetch from the Store: sizes the next one. */
  private refillCost = 0;
  /** True while the Store may hold queued messages this connection has not fetched yet. */
  private stored = false;
  private refilling = false;
  /** Counts this connection's enqueues, so a refill knows whether one raced with its peek. */
  private enqueued = 0;

  constructor(private readonly client: Client) {}

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Queues or sends a message at the given QoS, keeping the order messages were pushed in. */
  push(message: Message, qos: QoS, retain: boolean): void {
    const client = this.client;
    if (client.connected && this.waiting.length === 0 && !client.flow.congested && (qos === 0 || (this.hasRoom(message) && !this.stored))) {
      this.send(message, qos, retain);
      return;
    }
    if (client.connected && client.flow.congested) {
      // A slow consumer pauses nobody, and what it may lose (QoS 0) is not kept for it.
      if (client.flow.slow) {
        if (qos === 0) return this.drop('slowConsumer', 'a slow subscriber (socket congested) loses its QoS 0 messages until it drains');
      } else {
        client.flow.throttle(client.server.publishing);
      }
    }
    if (qos > 0 && client.durable) {
      this.storeWaiting({ ...message, qos, retain });
      return;
    }
    this.enqueue({ message, qos, retain, cost: messageCost(message) });
  }

  /** Keeps a message in memory within the client's limits and the process-wide budget. */
  private enqueue(entry: Waiting): void {
    const { maxQueuedMessages, maxQueuedBytes } = this.client.server.settings;
    const waiting = this.waiting;
    // A message larger than maxQueuedBytes on its own still waits, alone.
    while (waiting.length > 0 && (waiting.length >= maxQueuedMessages || this.waitingBytes + entry.cost > maxQueuedBytes)) {
      this.release(waiting.shift()!);
      this.drop('queueFull', 'client queue full (maxQueuedMessages or maxQueuedBytes): its oldest waiting message dropped');
    }
    if (!this.client.server.queuedBytes.take(entry.cost)) {
      return this.drop('memoryBudget', 'the broker-wide budget of queued bytes (maxTotalQueuedBytes) is spent: message dropped');
    }
    this.waitingBytes += entry.cost;
    waiting.push(entry);
  }

  private release(entry: Waiting): void {
    this.waitingBytes -= entry.cost;
    this.client.server.queuedBytes.release(entry.cost);
  }

  private drop(reason: DropReason, text: string): void {
    const server = this.client.server;
    server.stats.drop(reason);
    server.rateLimitedLog.warn(reason, { clientId: this.client.id }, text);
  }

  /** Sends what waits, as far as the in-flight window allows. */
  pump(): void {
    while (this.client.connected && this.waiting.length > 0 && !this.client.flow.congested) {
      const next = this.waiting[0]!;
      if (next.qos > 0 && !this.hasRoom(next.message)) break;
      this.release(this.waiting.shift()!);
      this.send(next.message, next.qos, next.retain);
    }
    this.refill();
  }

  /** A durable session starts with whatever its Store queue holds (the offline queue). */
  startFromStore(): void {
    this.stored = true;
    this.pump();
  }

  /** Queues a message in the Store; the publisher's ack, when it is waiting, waits for this too. */
  private storeWaiting(message: Message): void {
    this.stored = true;
    this.enqueued++;
    const client = this.client;
    const written = client.persist((id) => client.server.queueOffline(id, message));
    client.server.deliveryWrites?.push(written);
  }

  /**
   * Fetches queued messages from the Store as far as the window allows, sends them, and only then
   * removes them from the queue: a crash in between duplicates at worst. Messages queued by a
   * publisher while the session was offline pass authorizeForward here (Mosca did the same).
   */
  private refill(): void {
    const client = this.client;
    if (!this.stored || this.refilling || !client.connected || client.flow.congested) return;
    const { maxInflightMessages, maxInflightBytes } = client.server.settings;
    const room = maxInflightMessages - (this.inflight?.size ?? 0);
    if (room <= 0 || this.inflightBytes >= maxInflightBytes) return;
    // Read about as many as the byte window takes: a queue of large messages is not read in full.
    const bytesRoom = maxInflightBytes - this.inflightBytes;
    const limit = Math.min(room, this.refillCost === 0 ? FIRST_REFILL : Math.max(1, Math.floor(bytesRoom / this.refillCost)));
    this.refilling = true;
    let batch: QueuedMessage[] = [];
    // Enqueues made before this point reach the Store before the peek (client.persist keeps order).
    const enqueuedBefore = this.enqueued;
    void client
      .persist(async (id) => {
        batch = await client.server.store.peekQueue(id, limit);
        if (client.server.authorizeForward) batch = await this.forwardable(batch, id);
      })
      .then(
        () => {
          this.refilling = false;
          if (!client.connected) return;
          const sent: string[] = [];
          let cost = 0;
          for (const { id, message } of batch) {
            if (client.flow.congested || !this.hasRoom(message)) break;
            this.send(message, message.qos, message.retain);
            sent.push(id);
            cost += messageCost(message);
          }
          if (sent.length > 0) {
            this.refillCost = Math.ceil(cost / sent.length);
            void client.persist((id) => client.server.store.removeQueued(id, sent));
          }
          // What was not sent stays queued: an ack or a drain calls pump(), which comes back here.
          if (sent.length < batch.length) return;
          if (batch.length < limit && enqueuedBefore === this.enqueued) this.stored = false;
          else this.refill();
        },
        () => {
          this.refilling = false;
        },
      );
  }

  /** Keeps the messages authorizeForward allows; the others are removed from the queue at once. */
  private async forwardable(batch: QueuedMessage[], clientId: string): Promise<QueuedMessage[]> {
    const allowed: QueuedMessage[] = [];
    const denied: string[] = [];
    for (const queued of batch) {
      if (await this.client.mayForward(queued.message)) allowed.push(queued);
      else denied.push(queued.id);
    }
    if (denied.length > 0) await this.client.server.store.removeQueued(clientId, denied);
    return allowed;
  }

  /** Whether `message` may go in flight: within both windows, or alone when larger than the byte window. */
  private hasRoom(message: Message): boolean {
    const { maxInflightMessages, maxInflightBytes } = this.client.server.settings;
    const count = this.inflight?.size ?? 0;
    return count < maxInflightMessages && (count === 0 || this.inflightBytes + messageCost(message) <= maxInflightBytes);
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
    this.inflightBytes += messageCost(packet);
    if (client.durable) {
      const written = client.persist((id) => client.server.store.putOutgoing(id, packet));
      // Sent while its publisher waits for its ack: the ack also waits for this write.
      client.server.deliveryWrites?.push(written);
    }
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
    this.inflightBytes -= messageCost(packet);
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
      this.inflightBytes += messageCost(packet);
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
    this.discard();
    return messages;
  }

  /** Forgets what waits (the connection is gone), giving its bytes back to the broker's budget. */
  discard(): void {
    for (const entry of this.waiting) this.client.server.queuedBytes.release(entry.cost);
    this.waiting = [];
    this.waitingBytes = 0;
  }
}
