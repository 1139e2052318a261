import type { DropReason } from '../sys/broker-stats.js';
import type { PutOutgoingResult } from '../store/store.js';
import type { Message, OutgoingPacket, QoS, QueuedMessage, Subscription } from '../types.js';
import { messageCost } from './byte-budget.js';
import type { Client } from './client.js';
import { encodePublish, encodeSharedQos0, type PublishBytes } from './encoder.js';
import { RetainedReplay } from './retained-replay.js';

/**
 * What an acknowledgement from the client means for the packet it names: it moved the delivery on,
 * its id is not in flight, or it does not fit the packet (the wrong QoS, or PUBCOMP before PUBREC).
 */
export type AckResult = 'done' | 'unknown' | 'mismatch';

interface Waiting {
  message: Message;
  qos: QoS;
  retain: boolean;
  /** What it counts for in the byte limits (messageCost). */
  cost: number;
  /** The shared subscription it came through, if any (SharedSubscriptions). */
  group?: string;
}

/** A message of a shared subscription that a member gives back (it left, or unsubscribed). */
export interface SharedReturn {
  message: Message;
  group: string;
}

/** How many messages the first fetch from the Store's queue reads, before their size is known. */
const FIRST_REFILL = 16;

/**
 * Messages on their way to one client: those in flight (sent at QoS 1/2, not yet acknowledged)
 * and those waiting behind the in-flight window.
 *
 * Where a message waits depends on what losing it would cost. A durable session's QoS 1/2
 * messages wait in the Store's queue, so a crash loses nothing a publisher saw acknowledged; they
 * leave it only once they are in flight (refill()). Everything else waits in memory, bounded by
 * `maxQueuedMessages` and `maxQueuedBytes` (beyond them the oldest waiting message is dropped) and
 * by the process-wide `maxTotalQueuedBytes` (a message that does not fit is dropped). The in-flight
 * window is bounded by `maxInflightMessages` (a 5.0 client's Receive Maximum, if smaller) and
 * `maxInflightBytes`. Every drop is counted and logged (rate-limited).
 */
export class OutboundQueue {
  /** Unacknowledged packets by packet id, in the order they were sent; made on first use. */
  private inflight: Map<number, OutgoingPacket> | null = null;
  private inflightBytes = 0;
  private waiting: Waiting[] = [];
  private waitingBytes = 0;
  private lastId = 0;
  /** True while the Store may hold queued messages this connection has not fetched yet. */
  private stored = false;
  private refilling = false;
  /** Counts what may have added to the Store's queue (this connection's enqueues, readStore()), so a refill knows whether one raced with its peek. */
  private enqueued = 0;
  /** Average cost of the messages of the last fetch from the Store: sizes the next one. */
  private refillCost = 0;
  /** QoS 1/2 messages in flight at most: `maxInflightMessages`, or less for a 5.0 client (limitWindow). */
  private window: number;
  /** The shared subscription of each packet in flight that came through one; made on first use. */
  private sharedInflight: Map<number, string> | null = null;
  /** Retained messages being replayed to new subscriptions, one SUBSCRIBE after another; made on first use. */
  private replays: RetainedReplay[] | null = null;

  constructor(private readonly client: Client) {
    this.window = client.server.settings.maxInflightMessages;
  }

  /** Narrows the in-flight window to a 5.0 client's Receive Maximum. [MQTT-3.3.4-9] */
  limitWindow(receiveMaximum: number): void {
    if (receiveMaximum < this.window) this.window = receiveMaximum;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Packets sent and not yet acknowledged. */
  get inflightCount(): number {
    return this.inflight?.size ?? 0;
  }

  /**
   * Whether a shared subscription should pass this client by: its waiting queue is at its limits,
   * or it is a slow consumer. [MQTT-4.8.2-3]
   */
  get full(): boolean {
    const { maxQueuedMessages, maxQueuedBytes } = this.client.server.settings;
    return this.waiting.length >= maxQueuedMessages || this.waitingBytes >= maxQueuedBytes || this.client.flow.slow;
  }

  /**
   * Queues or sends a message at the given QoS, keeping the order messages were pushed in. A
   * message of a shared subscription (`group`) waits in memory even for a durable session: if the
   * client leaves first, it goes to another member rather than to this session's queue.
   */
  push(message: Message, qos: QoS, retain: boolean, group?: string): void {
    const client = this.client;
    const flow = client.flow;
    if (client.connected && this.waiting.length === 0 && !flow.congested && (qos === 0 || (this.hasRoom(message) && !this.stored))) {
      this.send(message, qos, retain, group);
      return;
    }
    if (client.connected && flow.congested) {
      // A slow consumer pauses nobody, and what it may lose (QoS 0) is not kept for it.
      if (flow.slow) {
        if (qos === 0) return this.drop('slowConsumer', 'a slow subscriber (socket congested) loses its QoS 0 messages until it drains');
      } else {
        flow.throttle(client.server.publishing);
      }
    }
    if (qos > 0 && client.durable && group === undefined) {
      this.storeWaiting({ ...message, qos, retain });
      return;
    }
    const entry: Waiting = { message, qos, retain, cost: messageCost(message) };
    if (group !== undefined) entry.group = group;
    this.enqueue(entry);
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

  /** Counts a message dropped for this client, and logs it (one line per reason every 10 s). */
  private drop(reason: DropReason, text: string): void {
    const server = this.client.server;
    server.stats.drop(reason);
    server.rateLimitedLog.warn(reason, { clientId: this.client.id }, text);
  }

  /** Sends what waits, as far as the in-flight window allows. */
  pump(): void {
    const client = this.client;
    while (client.connected && this.waiting.length > 0 && !client.flow.congested) {
      const next = this.waiting[0]!;
      if (next.qos > 0 && !this.hasRoom(next.message)) break;
      this.release(this.waiting.shift()!);
      this.send(next.message, next.qos, next.retain, next.group);
    }
    this.refill();
    this.replay();
  }

  /** Replays the retained messages `subscriptions` match (RetainedReplay), after those of earlier ones. */
  replayRetained(subscriptions: readonly Subscription[]): void {
    const filters = subscriptions.map((s) => s.topic);
    // Most subscriptions match no retained message: they start no replay when the Store can tell.
    if (this.client.server.store.mayHaveRetained?.(filters) === false) return;
    (this.replays ??= []).push(new RetainedReplay(this.client, subscriptions, filters));
    this.replay();
  }

  /** @internal a retained message of a replay, which checked the socket and the window (hasRoom). */
  sendRetained(message: Message, qos: QoS): void {
    this.send(message, qos, true);
  }

  private replay(): void {
    const replays = this.replays;
    while (replays && replays.length > 0 && this.client.connected) {
      if (!replays[0]!.pump()) return;
      replays.shift();
    }
    // Let go of the array once every replay is done: an idle subscriber keeps nothing of it.
    if (replays?.length === 0 && this.replays === replays) this.replays = null;
  }

  /**
   * The Store's queue may hold messages this connection has not read: at connect (the offline
   * queue), and when a publisher or a connection closing on another instance queued for this
   * session after finding it offline (Broker.queueOffline).
   */
  readStore(): void {
    this.stored = true;
    this.enqueued++;
    this.pump();
  }

  /** Queues a message in the Store; the publisher's ack, when it is waiting, waits for this too. */
  private storeWaiting(message: Message): void {
    this.stored = true;
    this.enqueued++;
    const client = this.client;
    // Connected, this connection reads what it queues (refill); closing, the session may already
    // be connected again elsewhere, and that connection must hear of it (queueOffline).
    const written = client.connected
      ? client.persist(async (id) => void (await client.server.enqueue(id, message)))
      : client.persist((id) => client.server.queueOffline(id, message));
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
    const { maxInflightBytes } = client.server.settings;
    const room = this.window - (this.inflight?.size ?? 0);
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
  hasRoom(message: Message): boolean {
    const count = this.inflight?.size ?? 0;
    return count < this.window && (count === 0 || this.inflightBytes + messageCost(message) <= this.client.server.settings.maxInflightBytes);
  }

  /** Counts a PUBLISH about to be written; the first delivery of a sampled message ends its latency. */
  private counted(message: Message, qos: QoS): void {
    const stats = this.client.server.stats;
    stats.publishSent++;
    stats.sentByQos[qos]++;
    if (message === stats.latency.pending) stats.latency.delivered();
  }

  private send(message: Message, qos: QoS, retain: boolean, group?: string): void {
    const client = this.client;
    // [MQTT-3.3.2-5] an expired message is not sent. (One comparison for messages without expiry.)
    if (message.expiresAt !== undefined && message.expiresAt <= Date.now()) return this.drop('expired', 'a message whose Message Expiry Interval ran out was not sent');
    const mqtt5 = client.mqtt5;
    if (qos === 0) {
      const bytes = mqtt5 === null ? (retain ? encodePublish(message.topic, message.payload, 0, true, false, 0) : encodeSharedQos0(message)) : mqtt5.encodePublish(message, 0, retain, false, 0);
      if (bytes === null) return this.dropTooLarge();
      this.counted(message, 0);
      client.writeBytes(bytes);
      return;
    }
    const packet: OutgoingPacket = { id: message.id, topic: message.topic, payload: message.payload, qos, retain, messageId: this.nextId() };
    if (message.properties) packet.properties = message.properties;
    if (message.expiresAt !== undefined) packet.expiresAt = message.expiresAt;
    if (message.subscriptionIdentifiers !== undefined) packet.subscriptionIdentifiers = message.subscriptionIdentifiers;
    // Encoded first: a packet too large for a 5.0 client is dropped before it is in flight.
    const bytes = mqtt5 === null ? encodePublish(packet.topic, packet.payload, qos, retain, false, packet.messageId) : mqtt5.encodePublish(packet, qos, retain, false, packet.messageId);
    if (bytes === null) return this.dropTooLarge();
    this.counted(message, qos);
    this.putInflight(packet);
    if (group !== undefined) (this.sharedInflight ??= new Map()).set(packet.messageId, group);
    if (client.durable) return this.sendDurably(message, packet, bytes);
    client.writeBytes(bytes);
  }

  /**
   * A durable session's packet goes in flight in the Store. QoS 2 leaves only once the Store has
   * it (and so knows the client may have it): an instance resuming the session after a crash then
   * re-sends it under its packet id, never again as a new message; QoS 1 goes at once (a
   * duplicate is allowed there). The Store may refuse it (Store.putOutgoing): this connection is
   * an old one whose client is back elsewhere (the message is queued for the session instead, in
   * the same write), or the session already had the message, taken over from an earlier connection.
   */
  private sendDurably(message: Message, packet: OutgoingPacket, bytes: PublishBytes): void {
    const client = this.client;
    const { store } = client.server;
    let outcome = undefined as PutOutgoingResult | void;
    const written = client.persist(async (id) => {
      // Not a retained message on subscribe: a new subscription gets it again. [MQTT-3.8.4-3]
      outcome = await store.putOutgoing(id, packet, packet.qos === 2 && !packet.retain);
      if (outcome === 'elsewhere') await client.server.queueOffline(id, message.qos === packet.qos ? message : { ...message, qos: packet.qos });
    });
    // Sent while its publisher waits for its ack: the ack also waits for this write.
    client.server.deliveryWrites?.push(written);
    if (packet.qos === 1) client.writeBytes(bytes);
    client.afterStoreWrites(() => {
      if (outcome === 'elsewhere' || outcome === 'had') this.withdraw(packet.messageId);
      else if (packet.qos === 2) client.writeBytes(bytes);
    });
  }

  /** Forgets a packet in flight that the Store refused: it was not sent (QoS 2), or goes no further. */
  private withdraw(messageId: number): void {
    const packet = this.inflight?.get(messageId);
    if (!packet) return;
    this.inflight!.delete(messageId);
    this.inflightBytes -= messageCost(packet);
    this.sharedInflight?.delete(messageId);
    this.pump();
  }

  private putInflight(packet: OutgoingPacket): void {
    (this.inflight ??= new Map()).set(packet.messageId, packet);
    this.inflightBytes += messageCost(packet);
  }

  /** A message larger than a 5.0 client's Maximum Packet Size is not sent: as good as delivered for it. [MQTT-3.1.2-25] */
  private dropTooLarge(): void {
    this.drop('packetTooLarge', 'message larger than the client accepts (its Maximum Packet Size), dropped for it');
  }

  /** A free packet id: ids in flight are skipped, and 0 is never used. [MQTT-2.3.1-1] */
  private nextId(): number {
    do {
      this.lastId = this.lastId === 65535 ? 1 : this.lastId + 1;
    } while (this.inflight?.has(this.lastId));
    return this.lastId;
  }

  /** The client acknowledged the end of a delivery: the message is delivered. */
  complete(messageId: number, by: 'puback' | 'pubcomp' | 'failed pubrec'): AckResult {
    const packet = this.inflight?.get(messageId);
    if (!packet) return 'unknown';
    // PUBACK ends QoS 1, PUBCOMP a released QoS 2, and (MQTT 5) a PUBREC of 0x80 or more an unreleased one.
    const fits = by === 'puback' ? packet.qos === 1 : packet.qos === 2 && Boolean(packet.released) === (by === 'pubcomp');
    if (!fits) return 'mismatch';
    this.inflight!.delete(messageId);
    this.inflightBytes -= messageCost(packet);
    this.sharedInflight?.delete(messageId);
    const client = this.client;
    if (client.durable) void client.persist((id) => client.server.store.removeOutgoing(id, messageId));
    client.server.emit('delivered', packet, client);
    this.pump();
    return 'done';
  }

  /** PUBREC: the client has the QoS 2 message; from now on only PUBREL is re-sent. [MQTT-4.3.3-1] */
  received(messageId: number): AckResult {
    const packet = this.inflight?.get(messageId);
    if (!packet) return 'unknown';
    if (packet.qos !== 2) return 'mismatch';
    if (!packet.released) {
      const released: OutgoingPacket = { ...packet, released: true };
      this.inflight!.set(messageId, released);
      const client = this.client;
      if (client.durable) void client.persist(async (id) => void (await client.server.store.putOutgoing(id, released)));
    }
    return 'done';
  }

  /**
   * Re-sends packets a durable session left unacknowledged, with DUP set, keeping their ids;
   * a released QoS 2 packet gets its PUBREL again. [MQTT-4.4.0-1] [MQTT-3.3.1-1]
   */
  restore(packets: OutgoingPacket[]): void {
    const client = this.client;
    for (const packet of packets) {
      const { topic, payload, qos, retain, messageId } = packet;
      if (!packet.released) {
        const mqtt5 = client.mqtt5;
        const bytes = mqtt5 === null ? encodePublish(topic, payload, qos, retain, true, messageId) : mqtt5.encodePublish(packet, qos, retain, true, messageId);
        // Too large for what the client now accepts: discarded as if delivered. [MQTT-3.1.2-25]
        if (bytes === null) {
          this.dropTooLarge();
          void client.persist((id) => client.server.store.removeOutgoing(id, messageId));
          continue;
        }
        client.writeBytes(bytes);
      }
      this.putInflight(packet);
      if (packet.released) client.write({ cmd: 'pubrel', messageId });
    }
    if (packets.length > 0) this.lastId = packets[packets.length - 1]!.messageId;
  }

  /**
   * Gives back the messages of shared subscriptions (of `group` only, when given) that wait, and
   * with `inflight` those sent at QoS 1 and not acknowledged, which the client may have seen: they
   * go to other members [MQTT-4.8.2-3]. QoS 2 ones in flight stay: only this session may complete
   * them (they are lost with a session that ends). [MQTT-4.8.2-4] [MQTT-4.8.2-5]
   */
  takeShared(group: string | undefined, inflight: boolean): SharedReturn[] {
    const taken: SharedReturn[] = [];
    if (this.waiting.some((w) => w.group !== undefined)) {
      const kept: Waiting[] = [];
      for (const entry of this.waiting) {
        if (entry.group === undefined || (group !== undefined && entry.group !== group)) {
          kept.push(entry);
          continue;
        }
        this.release(entry);
        taken.push({ message: withoutSubscriptionIdentifiers(entry.message), group: entry.group });
      }
      this.waiting = kept;
    }
    if (!inflight || !this.sharedInflight) return taken;
    const client = this.client;
    for (const [messageId, shared] of this.sharedInflight) {
      const packet = this.inflight?.get(messageId);
      if (!packet || packet.qos !== 1) continue;
      this.inflight!.delete(messageId);
      this.inflightBytes -= messageCost(packet);
      this.sharedInflight.delete(messageId);
      const { messageId: _packetId, released: _released, ...message } = packet;
      taken.push({ message: withoutSubscriptionIdentifiers(message), group: shared });
      // Not re-sent to this session when it comes back: another member has it now.
      if (client.durable) void client.persist((id) => client.server.store.removeOutgoing(id, messageId));
    }
    return taken;
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
    if (this.replays) for (const replay of this.replays) replay.stop();
    this.replays = null;
  }
}

/** A message without the Subscription Identifiers of one subscriber's copy. */
function withoutSubscriptionIdentifiers(message: Message): Message {
  if (message.subscriptionIdentifiers === undefined) return message;
  const { subscriptionIdentifiers: _ids, ...rest } = message;
  return rest;
}
