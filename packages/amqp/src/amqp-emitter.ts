import { randomBytes } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { DropLog, LocalHandlers, PublisherSequences, unref, type AdapterContext, type AdapterLogger, type Emitter, type Message, type MessageHandler } from '@skynet-mqtt/core';
import { bindingKey, decodeMessage, encodeMessage, LONG_TOPIC_KEY, type Outgoing } from './codec.js';
import { resolveOptions, type AmqpEmitterOptions, type ResolvedOptions } from './options.js';

/** Reconnect back-off: 100 ms, 200 ms, ... capped at 2 s, forever (an outage must not be fatal). */
function retryDelay(attempt: number): number {
  return Math.min(attempt * 100, 2_000);
}

/** How long close() waits for RabbitMQ to confirm what was published before it. */
const CLOSE_WAIT_MS = 2_000;

/** One connection and its confirm channel; replaced as a whole when either drops. */
interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Resolves when the connection or the channel is gone. */
  lost: Promise<void>;
  alive: boolean;
}

/** A message published and not yet confirmed by RabbitMQ. */
interface Pending {
  seq: number;
  qos: number;
  outgoing: Outgoing;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The Emitter over AMQP 0-9-1 (RabbitMQ): a topic exchange shared by every instance of a
 * deployment, and one queue per instance bound with the filters it subscribes to.
 *
 * - publish() delivers to this instance's handlers at once, then publishes on a confirm channel
 *   and resolves when RabbitMQ has confirmed it, i.e. routed it to every bound queue: a QoS 1/2
 *   acknowledgement (which waits for publish()) means the other instances' queues hold it.
 *   While RabbitMQ is unreachable, QoS 1/2 messages wait and are sent on reconnect, in order;
 *   QoS 0 messages are dropped (counted and logged).
 * - The queue is not exclusive: it outlives a lost connection (`queueExpires`), so what is
 *   routed to it meanwhile is read after the reconnect. close() deletes it.
 * - A delivery is acknowledged to RabbitMQ only after it was handed to the handlers, so a
 *   connection lost in between makes RabbitMQ deliver it again; each message carries its
 *   publisher's id and sequence number, and a repeat is recognised and dropped.
 * - sync() sends a marker to this instance's own queue: once it comes back, everything routed to
 *   the queue before it has been delivered.
 */
export class AmqpEmitter implements Emitter {
  readonly instanceId = randomBytes(9).toString('base64url');
  private readonly options: ResolvedOptions;
  private readonly logger: AdapterLogger;
  /** This instance's queue. */
  readonly queue: string;
  private readonly handlers = new LocalHandlers();
  /** Binding keys in use, with the number of filters that map to each. */
  private readonly bindings = new Map<string, number>([[LONG_TOPIC_KEY, 1]]);
  private readonly sequences = new PublisherSequences();
  private readonly pending = new Map<number, Pending>();
  private unconfirmedBytes = 0;
  private seq = 0;
  private link: Link | null = null;
  private linkWaiters: ((link: Link | null) => void)[] = [];
  private readonly markers = new Map<string, () => void>();
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly loop: Promise<void>;
  private wake: (() => void) | null = null;
  /** Deliveries handed to the handlers and not yet acknowledged: the last one, acknowledged with all before it. */
  private toAck: { link: Link; message: ConsumeMessage } | null = null;
  private readonly countDrop: AdapterContext['countDrop'];
  private readonly drops: DropLog;
  /** QoS 0 messages dropped since start (RabbitMQ unreachable, or maxUnconfirmedBytes reached). */
  dropped = 0;

  constructor(options: AmqpEmitterOptions | Record<string, unknown> = {}, context?: AdapterContext) {
    this.options = resolveOptions(options, this.instanceId);
    this.logger = this.options.logger;
    this.countDrop = context?.countDrop;
    this.drops = new DropLog(
      this.logger,
      (count) => `AMQP backend: ${count} QoS 0 message(s) dropped: RabbitMQ unreachable, or ${this.unconfirmedBytes} bytes not yet confirmed (maxUnconfirmedBytes ${this.options.maxUnconfirmedBytes})`,
    );
    this.queue = `${this.options.exchange}.${this.instanceId}`;
    this.loop = this.run();
  }

  /** Resolves once connected, with the exchange, queue and bindings in place (it waits for RabbitMQ when unreachable). */
  async ready(): Promise<void> {
    await this.up();
  }

  publish(message: Message): Promise<void> {
    if (this.closed) return Promise.reject(new Error('AMQP emitter: publish after close'));
    // Encoded first: a message that cannot be sent is not delivered locally either.
    const seq = ++this.seq;
    const outgoing = encodeMessage(message, seq);
    this.deliver(message);
    if (message.qos === 0 && (this.link === null || this.unconfirmedBytes > this.options.maxUnconfirmedBytes)) {
      this.dropQos0();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry: Pending = { seq, qos: message.qos, outgoing, resolve, reject };
      this.pending.set(entry.seq, entry);
      this.unconfirmedBytes += outgoing.content.length;
      if (this.link) this.send(this.link, entry);
    });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.closed) return;
    if (!this.handlers.add(filter, handler)) return;
    const key = bindingKey(filter);
    const count = (this.bindings.get(key) ?? 0) + 1;
    this.bindings.set(key, count);
    if (count > 1) return;
    // Bound before it resolves, so that what others publish after that reaches this queue. A
    // link lost meanwhile binds it again when it comes back (every key is bound on set-up).
    for (let link = await this.up(); link !== null; link = await this.up(link)) {
      try {
        await link.channel.bindQueue(this.queue, this.options.exchange, key);
        return;
      } catch {
        if (this.closed) return;
      }
    }
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (!this.handlers.remove(filter, handler)) return;
    const key = bindingKey(filter);
    const count = (this.bindings.get(key) ?? 1) - 1;
    if (count > 0) {
      this.bindings.set(key, count);
      return;
    }
    this.bindings.delete(key);
    // Best effort: a binding left behind only brings messages no handler matches.
    await this.link?.channel.unbindQueue(this.queue, this.options.exchange, key).catch(() => undefined);
  }

  async sync(): Promise<void> {
    for (let link = await this.up(); link !== null; link = await this.up(link)) {
      const token = randomBytes(9).toString('base64url');
      const arrived = new Promise<void>((resolve) => this.markers.set(token, resolve));
      try {
        link.channel.sendToQueue(this.queue, Buffer.alloc(0), { headers: { sync: token }, appId: this.instanceId });
      } catch {
        // The channel closed under us: try again on the next link.
      }
      const result = await Promise.race([arrived.then(() => 'arrived' as const), link.lost.then(() => 'lost' as const)]);
      this.markers.delete(token);
      if (result === 'arrived') return;
    }
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.handlers.clear();
      for (const resolve of this.markers.values()) resolve();
      this.markers.clear();
      for (const resolve of this.linkWaiters.splice(0)) resolve(null);
      this.wake?.();
      this.closing = this.shutDown();
    }
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const link = this.link;
    if (link?.alive) {
      const deadline = Date.now() + CLOSE_WAIT_MS;
      while (this.pending.size > 0 && link.alive && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await link.channel.deleteQueue(this.queue).catch(() => undefined);
      await link.connection.close().catch(() => undefined);
    }
    for (const entry of this.pending.values()) entry.reject(new Error('AMQP emitter closed before RabbitMQ confirmed the message'));
    this.pending.clear();
    await this.loop;
    this.drops.flush();
  }

  /** The current link, or the next one (not `stale`, which failed); null once closed. */
  private up(stale?: Link): Promise<Link | null> {
    if (this.closed) return Promise.resolve(null);
    if (this.link && this.link !== stale && this.link.alive) return Promise.resolve(this.link);
    return new Promise((resolve) => this.linkWaiters.push(resolve));
  }

  /** Connects, sets up, waits for the link to drop, and again, until closed. */
  private async run(): Promise<void> {
    let attempt = 0;
    let downSince = 0;
    while (!this.closed) {
      try {
        const link = await this.connect();
        if (this.closed) {
          await link.connection.close().catch(() => undefined);
          return;
        }
        this.link = link;
        attempt = 0;
        if (downSince !== 0) this.logger.info(`AMQP backend (${this.options.safeUrl}): connection restored after ${Date.now() - downSince} ms`);
        downSince = 0;
        for (const entry of this.pending.values()) this.send(link, entry);
        for (const resolve of this.linkWaiters.splice(0)) resolve(link);
        await link.lost;
        if (this.closed) return;
        downSince = Date.now();
        this.logger.warn(`AMQP backend (${this.options.safeUrl}): connection lost; QoS 1/2 messages wait and are sent on reconnect`);
      } catch (error) {
        if (this.closed) return;
        if (attempt === 0 && downSince === 0) {
          downSince = Date.now();
          this.logger.warn(`AMQP backend: cannot reach ${this.options.safeUrl} (${(error as Error).message}); retrying`);
        }
      }
      this.linkLost();
      await this.pause(retryDelay(++attempt));
    }
  }

  /** Connection, confirm channel, exchange, queue, bindings, consumer. */
  private async connect(): Promise<Link> {
    const { url, socketOptions, exchange, connectionName, prefetch, queueExpires } = this.options;
    const clientProperties = { ...((socketOptions.clientProperties as Record<string, unknown> | undefined) ?? {}), connection_name: connectionName };
    // noDelay: a confirm waits for the publish's last frame; Nagle's algorithm would hold it back
    // until the previous segment is acknowledged (tens of ms per QoS 1 message).
    const connection = await amqp.connect(url, { noDelay: true, ...socketOptions, clientProperties });
    let markLost!: () => void;
    const link: Link = { connection, channel: undefined as unknown as ConfirmChannel, lost: new Promise((resolve) => (markLost = resolve)), alive: true };
    const lose = (): void => {
      link.alive = false;
      markLost();
    };
    connection.on('error', () => undefined); // 'close' follows, with the reason
    connection.on('close', lose);
    try {
      link.channel = await connection.createConfirmChannel();
      link.channel.on('error', (error: Error) => this.logger.error(`AMQP backend: channel error: ${error.message}`));
      // A channel closed by RabbitMQ (an error on it) takes the link down: it is rebuilt whole.
      link.channel.on('close', () => {
        lose();
        void connection.close().catch(() => undefined);
      });
      await link.channel.assertExchange(exchange, 'topic', { durable: true });
      await link.channel.assertQueue(this.queue, { durable: false, exclusive: false, autoDelete: false, arguments: { 'x-expires': queueExpires } });
      await link.channel.prefetch(prefetch);
      for (const key of this.bindings.keys()) await link.channel.bindQueue(this.queue, exchange, key);
      await link.channel.consume(this.queue, (delivery) => this.receive(link, delivery), { noAck: false });
    } catch (error) {
      lose();
      await connection.close().catch(() => undefined);
      throw error;
    }
    return link;
  }

  private send(link: Link, entry: Pending): void {
    const { routingKey, content, headers } = entry.outgoing;
    try {
      link.channel.publish(this.options.exchange, routingKey, content, { headers, appId: this.instanceId }, (error: unknown) => {
        if (!this.pending.has(entry.seq) || this.link !== link) return; // settled already, or sent again on a newer link
        if (error) {
          // Refused (nack) on a live channel: RabbitMQ could not take it now; try again shortly.
          this.logger.warn(`AMQP backend: RabbitMQ refused a message on ${routingKey}; sending it again`);
          unref(setTimeout(() => this.link && this.pending.has(entry.seq) && this.send(this.link, entry), 100));
          return;
        }
        this.settle(entry);
        entry.resolve();
      });
    } catch (error) {
      // The channel is closing: the entry stays pending and is sent on the next link.
      if (!link.alive) return;
      this.settle(entry);
      entry.reject(error as Error);
    }
  }

  private settle(entry: Pending): void {
    this.pending.delete(entry.seq);
    this.unconfirmedBytes -= entry.outgoing.content.length;
  }

  /** The link is gone: QoS 0 messages in flight are given up (at most once), QoS 1/2 wait for the next. */
  private linkLost(): void {
    this.link = null;
    this.toAck = null; // delivery tags belong to the channel that is gone
    for (const entry of [...this.pending.values()]) {
      if (entry.qos !== 0) continue;
      this.settle(entry);
      entry.resolve();
      this.dropQos0();
    }
  }

  private dropQos0(): void {
    this.dropped++;
    this.countDrop?.('emitterBacklog', 1);
    this.drops.dropped();
  }

  private receive(link: Link, delivery: ConsumeMessage | null): void {
    if (delivery === null) {
      // RabbitMQ cancelled the consumer (the queue was deleted): rebuild the link.
      this.logger.warn(`AMQP backend: RabbitMQ cancelled the consumer of ${this.queue}; reconnecting`);
      void link.connection.close().catch(() => undefined);
      return;
    }
    if (this.closed || !link.alive) return;
    const { fields, properties, content } = delivery;
    if (fields.exchange === '') {
      const token = (properties.headers as Record<string, unknown> | undefined)?.sync;
      if (typeof token === 'string') this.markers.get(token)?.();
    } else if (properties.appId !== this.instanceId) {
      this.deliverRemote(fields.routingKey, content, properties.headers, properties.appId as string | undefined);
    }
    this.ack(link, delivery);
  }

  private deliverRemote(routingKey: string, content: Buffer, headers: Record<string, unknown> | undefined, publisher: string | undefined): void {
    if (this.handlers.size === 0) return;
    let decoded;
    try {
      decoded = decodeMessage(routingKey, content, headers);
    } catch (error) {
      this.logger.error(`AMQP backend: dropped a message on ${routingKey} not written by a Skynet MQTT broker: ${(error as Error).message}`);
      return;
    }
    if (publisher !== undefined && decoded.sequence !== undefined && this.sequences.isDuplicate(publisher, decoded.sequence)) return;
    this.deliver(decoded.message);
  }

  /** Acknowledges once per event-loop turn, with every delivery before it (fewer frames under load). */
  private ack(link: Link, delivery: ConsumeMessage): void {
    const scheduled = this.toAck !== null;
    this.toAck = { link, message: delivery };
    if (scheduled) return;
    setImmediate(() => {
      const last = this.toAck;
      this.toAck = null;
      if (last?.link.alive) {
        try {
          last.link.channel.ack(last.message, true);
        } catch {
          // The channel closed: RabbitMQ delivers those again, and they are recognised.
        }
      }
    });
  }

  private deliver(message: Message): void {
    this.handlers.deliver(message, (error) => this.logger.error(`AMQP backend: a handler of ${message.topic} threw: ${String(error)}`));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
