import { randomBytes } from 'node:crypto';
import mqtt, { type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { ConfigurationError, DropLog, LocalHandlers, messageCost, type AdapterContext, type AdapterLogger, type Emitter, type Message, type MessageHandler, type QoS } from '@skynet-mqtt/core';
import { ParentBacklog } from './parent-backlog.js';
import { resolveBridgeOptions, type MqttBridgeOptions, type ResolvedBridgeOptions } from './options.js';
import { fromParentProperties, toParentProperties } from './properties.js';
import { fromParentTopic, parentFilter, syncTopic, toParentTopic } from './topics.js';

/** connecting: never connected yet; ready; down: lost, reconnecting; closed: by close(). */
export type BridgeState = 'connecting' | 'ready' | 'down' | 'closed';

/** How long close() lets unacknowledged publishes finish before it drops the connection. */
const CLOSE_GRACE_MS = 5_000;

/**
 * The Emitter on a parent MQTT broker (Mosca's tree of brokers): every instance publishes to the
 * parent under the prefix and subscribes there to `<prefix>/#`.
 *
 * MQTT 5 (the default):
 * - publish() delivers to this instance's handlers at once, then publishes to the parent and
 *   resolves when the parent acknowledged it (QoS 1/2) or when it is written (QoS 0).
 * - The parent subscription has No Local: the parent never sends back what this connection
 *   published, so nothing is delivered twice; Retain As Published, so the flag crosses; Retain
 *   Handling 2, so the parent's stored retained messages are never replayed as new ones.
 *
 * MQTT 3.1.1 (`protocolVersion: 4`, parents without MQTT 5): there is no No Local, so the
 * parent's copy is the delivery, for this instance too (Mosca's way); messages go up with
 * retain 0, so the parent stores and replays nothing, and the retain flag does not cross.
 *
 * What waits for the parent is bounded (maxQueuedBytes, maxQueuedMessages; parent-backlog.ts):
 * beyond it QoS 0 messages are dropped, counted (`emitterBacklog`) and logged, and QoS 1/2
 * publishers wait for room, so a stalled parent holds back their publishers instead of filling
 * this process's memory. Local delivery (MQTT 5) happens before, and is never held back.
 *
 * Received messages are never published again: nothing loops. The QoS of each message is the
 * parent's: min(published QoS, granted QoS, the parent's maximum). MQTT 5 properties cross with
 * the message (properties.ts); a 3.1.1 parent carries none.
 */
export class MqttBridgeEmitter implements Emitter {
  readonly instanceId = randomBytes(9).toString('base64url');
  private readonly options: ResolvedBridgeOptions;
  private readonly logger: AdapterLogger;
  private readonly client: MqttClient;
  private readonly handlers = new LocalHandlers();
  private readonly backlog: ParentBacklog;
  private readonly drops: DropLog;
  private readonly countDrop: AdapterContext['countDrop'];
  /** QoS 0 messages dropped because the backlog was full, since start. */
  dropped = 0;
  private readonly syncTopic: string;
  /** sync() markers not yet back from the parent, by token. */
  private readonly markers = new Map<string, () => void>();
  private markerCount = 0;
  /** Resolves once the parent subscription was granted the first time. */
  private readonly subscribed: Promise<void>;
  private markSubscribed!: () => void;
  private failSubscribed!: (error: Error) => void;
  /** Limits of the parent from its CONNACK (MQTT 5 Maximum QoS, Retain Available). */
  private maxQos: QoS = 2;
  private retainAvailable = true;
  private connectedOnce = false;
  private downSince = 0;
  private lastError = '';
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: MqttBridgeOptions | Record<string, unknown> = {}, context?: AdapterContext) {
    this.options = resolveBridgeOptions(options);
    this.logger = this.options.logger;
    this.countDrop = context?.countDrop;
    this.backlog = new ParentBacklog(this.options.maxQueuedBytes, this.options.maxQueuedMessages);
    this.drops = new DropLog(
      this.logger,
      (count) =>
        `${this.label}: ${count} QoS 0 message(s) dropped: ${this.backlog.bytes} bytes in ${this.backlog.messages} messages wait for the parent ` +
        `(maxQueuedBytes ${this.options.maxQueuedBytes}, maxQueuedMessages ${this.options.maxQueuedMessages}); QoS 1/2 publishers wait instead`,
    );
    this.syncTopic = syncTopic(this.instanceId);
    this.subscribed = new Promise((resolve, reject) => {
      this.markSubscribed = resolve;
      this.failSubscribed = reject;
    });
    this.subscribed.catch(() => undefined); // rejected only for subscribe() and sync() to see
    this.client = mqtt.connect(this.options.url, this.options.connect);
    this.client.on('connect', (connack) => void this.onConnect(connack));
    this.client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    this.client.on('close', () => this.onClose());
    this.client.on('error', (error) => this.onError(error));
  }

  get state(): BridgeState {
    if (this.closed) return 'closed';
    if (this.client.connected) return 'ready';
    return this.connectedOnce ? 'down' : 'connecting';
  }

  /** What waits to be sent to the parent or for its acknowledgement (parent-backlog.ts). */
  get queued(): { bytes: number; messages: number } {
    return { bytes: this.backlog.bytes, messages: this.backlog.messages };
  }

  private get label(): string {
    return `MQTT bridge (${this.options.url}${this.options.prefix === null ? '' : `, prefix ${this.options.prefix}`})`;
  }

  async publish(message: Message): Promise<void> {
    if (this.closed) throw new Error('MQTT bridge: publish after close');
    const topic = toParentTopic(this.options.prefix, message.topic);
    if (this.options.v5 || topic === null) this.deliver(message);
    if (topic === null) return;
    const cost = messageCost(message);
    if (message.qos === 0) {
      if (!this.backlog.tryTake(cost)) return this.dropQos0();
    } else {
      await this.backlog.reserve(cost);
      if (this.closed) throw new Error('MQTT bridge: closed while the publish waited for room');
    }
    const properties = this.options.v5 ? toParentProperties(this.options.prefix, message) : undefined;
    const options = {
      qos: Math.min(message.qos, this.maxQos) as QoS,
      // 3.1.1: the parent would replay stored messages on every (re)subscription, as new ones.
      retain: this.options.v5 && this.retainAvailable && message.retain,
      ...(properties && { properties }),
    };
    if (options.qos === 0 && this.client.connected) {
      // Written at once, with no callback (see ParentBacklog): counted until the socket drains.
      this.client.publish(topic, message.payload, options);
      if (this.client.stream.writableNeedDrain) this.backlog.moveToBuffered(cost);
      else this.backlog.release(cost);
      return;
    }
    try {
      await this.client.publishAsync(topic, message.payload, options);
    } finally {
      this.backlog.release(cost);
    }
  }

  private dropQos0(): void {
    this.dropped++;
    this.countDrop?.('emitterBacklog', 1);
    this.drops.dropped();
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.closed) return;
    this.handlers.add(filter, handler);
    // What other instances publish after this resolves must arrive: wait for the parent's SUBACK
    // (while the parent is unreachable this waits, as publishes do).
    await this.subscribed;
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    this.handlers.remove(filter, handler);
  }

  /**
   * Publishes a marker to this instance's own sync topic and waits until it comes back: the
   * parent forwards to one connection in the order it received, so whatever it had before the
   * marker has been delivered here by then. At QoS 2 (or the parent's maximum), because mqtt.js
   * hands a QoS 2 message over only at PUBREL: a marker at a lower QoS could overtake one.
   */
  async sync(): Promise<void> {
    if (this.closed) return;
    await this.subscribed;
    const token = `${++this.markerCount}`;
    const back = new Promise<void>((resolve) => this.markers.set(token, resolve));
    this.sendMarker(token);
    await back;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.handlers.clear();
      this.backlog.releaseWaiting();
      this.drops.flush();
      for (const resolve of this.markers.values()) resolve();
      this.markers.clear();
      this.markSubscribed(); // subscribe() and sync() must not hang on a bridge that never connected
      this.closing = this.end();
    }
    return this.closing;
  }

  /**
   * Lets unacknowledged publishes finish (for a bounded time), then disconnects. MQTT 5: with
   * Session Expiry 0, so the parent forgets this instance's session instead of queueing for it.
   */
  private async end(): Promise<void> {
    if (!this.client.connected) {
      await this.client.endAsync(true);
      return;
    }
    const disconnect = this.options.v5 ? { properties: { sessionExpiryInterval: 0 } } : {};
    const timer = setTimeout(() => this.client.end(true), CLOSE_GRACE_MS);
    try {
      await this.client.endAsync(false, disconnect);
    } finally {
      clearTimeout(timer);
    }
  }

  private sendMarker(token: string): void {
    this.client.publish(this.syncTopic, token, { qos: this.maxQos }, (error) => {
      if (error && !this.closed) this.logger.error(`${this.label}: could not publish a sync marker: ${error.message}`);
    });
  }

  private async onConnect(connack: IConnackPacket): Promise<void> {
    this.client.stream.on('drain', () => this.backlog.drained());
    const properties = connack.properties ?? {};
    this.maxQos = (properties.maximumQoS ?? 2) as QoS;
    this.retainAvailable = properties.retainAvailable ?? true;
    if (this.downSince !== 0) {
      this.logger.info(`${this.label}: connection to the parent restored after ${Date.now() - this.downSince} ms`);
      this.downSince = 0;
    } else if (!this.connectedOnce && this.lastError) {
      this.logger.info(`${this.label}: parent reachable`);
    }
    const reconnected = this.connectedOnce;
    this.connectedOnce = true;
    this.lastError = '';
    if (connack.sessionPresent) return; // the parent kept our subscriptions
    if (reconnected) this.logger.warn(`${this.label}: the parent lost this instance's session: subscribing again (what was published meanwhile was not kept for it)`);
    try {
      await this.subscribeOnParent();
    } catch (error) {
      const text = `${this.label}: subscribing on the parent failed: ${(error as Error).message}`;
      if (!this.closed) this.logger.error(text);
      // The first time, a refusal is a configuration to fix: subscribe() fails, so the start does.
      if (!this.closed) this.failSubscribed(new ConfigurationError(text));
      return;
    }
    this.markSubscribed();
    // Markers sent while the session was being lost went nowhere: send them again.
    for (const token of this.markers.keys()) this.sendMarker(token);
  }

  private async subscribeOnParent(): Promise<void> {
    const filter = parentFilter(this.options.prefix);
    const v5 = this.options.v5 ? { rap: true, rh: 2 } : {};
    const granted = await this.client.subscribeAsync({
      [filter]: { qos: 2, ...v5, nl: this.options.v5 },
      [this.syncTopic]: { qos: 2, ...v5 },
    });
    const refused = granted.filter((grant) => grant.qos === 128 || (grant.qos as number) > 2);
    if (refused.length > 0) throw new Error(`the parent refused ${refused.map((grant) => grant.topic).join(' and ')} (check its ACL)`);
    const data = granted.find((grant) => grant.topic === filter);
    if (data && data.qos < 2) this.logger.info(`${this.label}: the parent grants QoS ${data.qos} on ${filter}: messages cross at most at QoS ${data.qos}`);
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic === this.syncTopic) {
      const token = payload.toString();
      this.markers.get(token)?.();
      this.markers.delete(token);
      return;
    }
    if (this.closed) return;
    const local = fromParentTopic(this.options.prefix, topic);
    if (local === null) return;
    // A copy: the payload may be a view of a larger socket buffer, which a queued message would pin.
    const { id, properties, expiresAt } = fromParentProperties(this.options.prefix, packet.properties);
    const message: Message = { id, topic: local, payload: Buffer.from(payload), qos: packet.qos, retain: packet.retain };
    if (properties) message.properties = properties;
    if (expiresAt !== undefined) message.expiresAt = expiresAt;
    this.deliver(message);
  }

  private onClose(): void {
    this.backlog.drained(); // the socket is gone, and what it buffered with it
    if (this.closed || !this.connectedOnce || this.downSince !== 0) return;
    this.downSince = Date.now();
    this.logger.warn(`${this.label}: connection to the parent lost; publishes wait and are sent on reconnect`);
  }

  /** Logs each distinct error once per outage (mqtt.js retries every reconnectPeriod). */
  private onError(error: Error): void {
    if (this.closed || error.message === this.lastError) return;
    this.lastError = error.message;
    const waiting = this.connectedOnce ? '' : '; publishes and subscriptions wait until it is reachable';
    this.logger.error(`${this.label}: ${error.message}${waiting}`);
  }

  /** Delivers to the local handlers; one failing handler does not keep the others from it. */
  private deliver(message: Message): void {
    this.handlers.deliver(message, (error) => this.logger.error(`MQTT bridge: a handler of ${message.topic} threw: ${String(error)}`));
  }
}
