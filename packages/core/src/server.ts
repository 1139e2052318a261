import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import type https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createEmitter, createStore, persistenceStoresQos0 } from './backends.js';
import type { Broker } from './broker.js';
import { ByteBudget } from './connection/byte-budget.js';
import { Client, type CloseReason } from './connection/client.js';
import { KeepaliveMonitor } from './connection/keepalive-monitor.js';
import { ControlChannel, type ControlOrigin } from './control/control-channel.js';
import type { Emitter, MessageHandler } from './emitter/emitter.js';
import { MemoryEmitter } from './emitter/memory-emitter.js';
import { callHook, type AuthenticationMethod, type Hooks } from './hooks.js';
import { DelayedWills } from './connection/delayed-wills.js';
import { DescriptorGuard } from './listeners/descriptor-guard.js';
import { warnIfOpenToAnonymous } from './listeners/exposure.js';
import { ConnectionGate } from './limits/connection-gate.js';
import { keepRetained } from './limits/retained-limits.js';
import { attachWebSocket, listen, type Listener, type WebSocketAttachment } from './listeners/listeners.js';
import { createLogger, RateLimitedLog } from './logger.js';
import { closePlugins, startPlugins, type Plugin } from './plugins.js';
import { resolveOptions, type InterfaceFactory, type InterfaceOptions, type ResolvedOptions, type ServerOptions } from './options.js';
import { Router } from './router/router.js';
import { SharedSubscriptions } from './router/shared-subscriptions.js';
import { isSharedFilter } from './topics/shared-filter.js';
import { SessionSweeper } from './store/session-sweeper.js';
import { FailoverWatch } from './store/failover-watch.js';
import type { EnqueueResult, Store } from './store/store.js';
import { BrokerStats } from './sys/broker-stats.js';
import { SysPublisher } from './sys/sys-publisher.js';
import { controlTopicError, SysReadAccess } from './sys/topic-access.js';
import { topicFilterError, topicLevelsError, topicNameError } from './topics/validate.js';
import { ApplicationErrors } from './application-errors.js';
import { MessageIds } from './message-ids.js';
import { TakeoverClock } from './takeover-clock.js';
import type { ClientSubscription, Message, MessageProperties, PublishedMessage, QoS, Will } from './types.js';

/** Where a message entered: its position in the Emitter (if it has one) and its count here (routedCount). */
interface RoutePoint {
  position?: number;
  entered: number;
}

/** What `server.publish()` takes: Mosca's packet shape. */
export interface PublishPacket {
  topic: string;
  payload?: Buffer | Uint8Array | string;
  qos?: QoS;
  retain?: boolean;
  /** MQTT 5 properties, for 5.0 subscribers (3.1.1 subscribers get the message without them). */
  properties?: MessageProperties;
}

type PublishCallback = (error: Error | undefined, packet?: PublishedMessage) => void;

/** A listening address of the server, for callers that asked for port 0. */
export interface ServerAddress {
  type: Listener['type'];
  host: string;
  port: number;
}

/**
 * The broker, with Mosca's surface: `new Server(options, [callback])`, its events (`ready`,
 * `clientConnected`, `published`, ...), its hooks as assignable properties (`authenticate`,
 * `authorizePublish`, `authorizeSubscribe`, `authorizeForward`, `published`), `publish()` and
 * `close()`, each with a callback or a promise.
 */
export class Server extends EventEmitter implements Broker, Hooks {
  readonly id: string;
  readonly settings: ResolvedOptions;
  /** The options as given (Mosca's `server.opts`). */
  readonly opts: ServerOptions;
  readonly logger: Logger;
  readonly rateLimitedLog: RateLimitedLog;
  readonly router = new Router((level, present) => this.routeDollarLevel(level, present));
  readonly stats = new BrokerStats();
  readonly shared: SharedSubscriptions;
  readonly clients: Record<string, Client> = Object.create(null);
  readonly messageIds: MessageIds;
  readonly incompletePackets: ByteBudget;
  store!: Store;
  emitter!: Emitter;
  /** Messages between broker instances (see ControlChannel); usable once the server is ready. */
  control!: ControlChannel;
  readonly sysAccess: SysReadAccess;
  readonly queuedBytes: ByteBudget;
  /** Keeps the broker serving when file descriptors run out (EMFILE, ENFILE). */
  readonly descriptors: DescriptorGuard;
  private readonly gate: ConnectionGate;

  authenticate?: Hooks['authenticate'];
  authorizePublish?: Hooks['authorizePublish'];
  authorizeSubscribe?: Hooks['authorizeSubscribe'];
  authorizeForward?: Hooks['authorizeForward'];
  published?: Hooks['published'];
  readonly delayedWills = new DelayedWills();
  /** MQTT 5 enhanced authentication methods, by the name a client gives in CONNECT. */
  authenticationMethods: Record<string, AuthenticationMethod> = Object.create(null);

  closed = false;
  incomingViaEmitter = false;
  /** Counts the messages routed here (see Client.subscribedAt). */
  routedCount = 0;
  publishing: Client | null = null;
  deliveryWrites: Promise<void>[] | null = null;
  private readonly connections = new Set<Client>();
  /** The publisher of each message on its way through Emitter.publishOnce. */
  private readonly publishingOnce = new WeakMap<Message, Client>();
  private readonly takeoverClock = new TakeoverClock();
  private readonly applicationErrors: ApplicationErrors;
  private listening: Listener[] = [];
  private plugins: Plugin[] = [];
  /** WebSocket servers attached to the application's HTTP servers (attachHttpServer). */
  private readonly attachedWebSockets: WebSocketAttachment[] = [];
  private keepalive?: KeepaliveMonitor;
  private sys?: SysPublisher;
  private sweeper?: SessionSweeper;
  private failover?: FailoverWatch;
  /** One per process, given to the Store and Emitter built by name (AdapterContext). */
  private readonly instanceId = randomBytes(9).toString('base64url');
  private readonly started: Promise<void>;
  private stopping: Promise<void> | null = null;
  private readonly onMessage: MessageHandler = (message) => this.deliverFromEmitter(message);
  /** `$SYS` messages reach only the clients allowed to read them (sysAccess). */
  private readonly onSysMessage: MessageHandler = (message) => this.router.deliver(message, this.sysAccess.audienceOf(message.topic));

  /** Starts a server and resolves once it listens: the promise form of `new Server(options, cb)`. */
  static async start(options: ServerOptions = {}): Promise<Server> {
    const server = new Server(options);
    await server.ready();
    return server;
  }

  constructor(options: ServerOptions = {}, callback?: (error: Error | null, server?: Server) => void) {
    super();
    this.opts = options;
    this.logger = createLogger(options.logger);
    this.applicationErrors = new ApplicationErrors(this.logger, (error) => this.listenerCount('error') > 0 && super.emit('error', error));
    this.rateLimitedLog = new RateLimitedLog(this.logger);
    this.descriptors = new DescriptorGuard(this.logger);
    const { resolved, unknown } = resolveOptions(options, () => randomBytes(4).toString('hex'));
    if (persistenceStoresQos0(options)) resolved.storeMessagesQos0 = true;
    this.settings = resolved;
    this.id = resolved.id;
    this.shared = new SharedSubscriptions(this, resolved.sharedSubscriptionStrategy);
    this.messageIds = new MessageIds(this.id);
    this.incompletePackets = new ByteBudget(resolved.maxIncompletePacketBytes);
    this.sysAccess = new SysReadAccess(resolved.sysAccess);
    this.queuedBytes = new ByteBudget(resolved.maxTotalQueuedBytes);
    this.gate = new ConnectionGate(resolved, this.stats, this.rateLimitedLog);
    if (unknown.length > 0) this.logger.warn({ unknown }, `unknown options ignored: ${unknown.join(', ')}`);
    if (options.onQoS2publish !== undefined) {
      this.logger.warn('option onQoS2publish has no effect: QoS 2 is supported end to end');
    }
    this.on('clientConnected', () => this.stats.clientConnected());
    this.on('clientDisconnected', (client: Client) => {
      this.stats.clientDisconnected();
      // Mosca's `$SYS/<id>/disconnect/clients` event; not while closing, the Emitter is going away.
      if (this.settings.publishClientDisconnect && !this.closed) this.publishEvent('disconnect/clients', client.id);
    });
    this.started = this.start();
    this.started.then(
      () => {
        this.emit('ready');
        if (callback) this.callBack('the Server callback', () => callback(null, this));
        // Hooks are commonly set in the 'ready' handler or after `await Server.start()`: look then.
        setImmediate(() => warnIfOpenToAnonymous(this));
      },
      (error: Error) => {
        if (callback) this.callBack('the Server callback', () => callback(error));
        else if (this.listenerCount('error') > 0) this.emit('error', error);
        else this.logger.error({ err: error }, 'the server could not start');
      },
    );
  }

  reportApplicationError(error: unknown, source: string): void {
    this.applicationErrors.report(error, source);
  }

  /**
   * Every listener gets the event even when one throws: the exception is an application bug,
   * reported, and it never costs a client its connection or a message its delivery. 'error' keeps
   * EventEmitter's rules.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') return super.emit(event, ...args);
    if (this.listenerCount(event) === 0) return false;
    this.applicationErrors.callEach(event, this.rawListeners(event) as ((...a: unknown[]) => unknown)[], this, args);
    return true;
  }

  /** Calls an application callback; what it throws is reported, not thrown into the broker. */
  private callBack(source: string, call: () => void): void {
    this.applicationErrors.guard(source, call);
  }

  /** Resolves once every backend and listener is up; rejects with the reason it could not start. */
  async ready(): Promise<this> {
    await this.started;
    return this;
  }

  private async start(): Promise<void> {
    try {
      const { logger, queuedBytes } = this;
      const { instanceId } = this;
      this.store = await createStore(this.opts, { logger, queuedBytes, maxQueuedBytes: this.settings.maxQueuedBytes, instanceId });
      this.emitter = await createEmitter(this.opts, { logger, instanceId, countDrop: (reason, count) => this.stats.drop(reason, count) });
      this.incomingViaEmitter = this.emitter.publishOnce !== undefined && this.store.sharesIncomingWith?.(this.emitter) === true;
      this.control = new ControlChannel(this.emitter, this.id, this.logger, this.messageIds);
      this.control.on('takeover', (payload, origin) => this.closeTakenOver(payload, origin));
      this.control.on('queued', (payload) => this.readQueue(payload.toString()));
      await this.control.start();
      this.shared.start();
      // Every broker instance receives every message and routes it to its own clients.
      await this.emitter.subscribe('#', this.onMessage);
      await this.emitter.subscribe('$SYS/#', this.onSysMessage);
      this.failover = new FailoverWatch(this, this.settings.failoverInterval);
      await this.failover.run();
      // Plugins before listeners: the hooks they install apply to the first connection.
      this.plugins = await startPlugins(this, this.opts);
      for (const iface of this.settings.interfaces) {
        const admits = this.gate.forListener(iface);
        const accept = (stream: Duplex, remote: string) => {
          if (admits(this.connections.size)) this.accept(stream, remote);
          else stream.destroy();
        };
        // A custom listener (Mosca's factory) hands its connections to server.accept itself.
        const makeCustom = (factory: InterfaceFactory, options: InterfaceOptions) => factory(options, this.opts, this);
        this.listening.push(await listen(iface, accept, this.settings, this.onListenerError, makeCustom));
      }
    } catch (error) {
      // Whatever did start is stopped: a failed start leaves no socket, connection or timer.
      await Promise.all(this.listening.map((listener) => listener.close()));
      await closePlugins(this.plugins);
      await this.failover?.stop();
      await this.release();
      throw error;
    }
    this.keepalive = new KeepaliveMonitor(this.connections, this.settings);
    this.sweeper = new SessionSweeper(this.store, this.settings.sessionSweepInterval, this.logger, this.descriptors);
    if (this.settings.stats) {
      const publish = (topic: string, value: string) => this.publishEvent(topic, value);
      this.sys = new SysPublisher(this.stats, publish, this.settings.statsInterval, this.incompletePackets, this.descriptors, this.logger);
    }
    this.logger.info({ id: this.id, listeners: this.address() }, 'server started');
  }

  /**
   * A message from the Emitter, to this instance's subscribers. The Store writes the delivery
   * starts for durable sessions are returned, so that the Emitter knows when the message is safe
   * (see MessageHandler); within routeDurably the publisher's ack waits for them too.
   */
  private deliverFromEmitter(message: Message): void | Promise<void> {
    if (message.qos === 0) return this.router.deliver(message, undefined, this.publishing);
    // Within routeDurably (the Emitter delivering a local publish at once), its array collects them.
    const outer = this.deliveryWrites;
    const writes = outer ?? [];
    const before = writes.length;
    this.deliveryWrites = writes;
    try {
      // Emitter.publishOnce delivers here once Redis has the message: its publisher, for No Local.
      this.router.deliver(message, undefined, this.publishing ?? this.publishingOnce.get(message) ?? null);
    } finally {
      this.deliveryWrites = outer;
    }
    if (writes.length > before) return Promise.all(writes.slice(before)).then(() => undefined);
  }

  /** Takes messages of a `$` top level from the Emitter while local clients subscribe under it. */
  private routeDollarLevel(level: string, present: boolean): void {
    const filter = `${level}/#`;
    const change = present ? this.emitter.subscribe(filter, this.onMessage) : this.emitter.unsubscribe(filter, this.onMessage);
    change.catch((error: unknown) => this.logger.error({ err: error, filter }, 'could not change an Emitter subscription'));
  }

  /** Whether the server started, listens on every interface and is not closing (readiness probes). */
  get listeningOnAll(): boolean {
    return !this.closed && this.listening.length === this.settings.interfaces.length && this.store !== undefined;
  }

  /** The plugins the options enabled, once they started. */
  get installedPlugins(): readonly Plugin[] {
    return this.plugins;
  }

  /** The addresses listened on, in the order of the interfaces. */
  address(): ServerAddress[] {
    return this.listening.map(({ type, host, port }) => ({ type, host, port }));
  }

  /**
   * Mosca's `attachHttpServer`: serves MQTT over WebSocket on an HTTP(S) server the application
   * owns (an Express app's, say), on `path` only, or without a path on upgrades that offer an MQTT
   * subprotocol (any upgrade while the application handles none). Other upgrades are left to the
   * application. The application closes the HTTP server.
   */
  attachHttpServer(httpServer: http.Server | https.Server, path?: string): void {
    const accept = (stream: Duplex, remote: string) => this.accept(stream, remote);
    this.attachedWebSockets.push(attachWebSocket(httpServer, { path, maxPayload: this.settings.maxPacketSize }, accept));
  }

  private readonly onListenerError = (error: Error): void => {
    if (!this.descriptors.handle(error, 'listener')) this.logger.error({ err: error }, 'listener error');
  };

  /** Serves MQTT on any byte stream (a socket, a WebSocket stream, a test pipe). */
  accept(stream: Duplex, remoteAddress = 'local'): Client {
    this.descriptors.accepted();
    const client = new Client(this, stream, remoteAddress);
    this.connections.add(client);
    return client;
  }

  /**
   * Closes every connection for which `predicate` holds, those still authenticating included (a
   * plugin revoking credentials, an operator's kick); resolves to how many, once they are closed.
   */
  async disconnectClients(predicate: (client: Client) => boolean, reason: CloseReason): Promise<number> {
    const closing = [...this.connections].filter((client) => !client.closing && predicate(client)).map((client) => client.close(reason));
    await Promise.all(closing);
    return closing.length;
  }

  admit(client: Client): boolean {
    const holder = this.clients[client.id];
    return this.gate.admit(client, holder !== undefined && holder !== client);
  }

  forget(client: Client): void {
    this.connections.delete(client);
    this.gate.release(client);
    // Listed until its session was ended: a new connection with this id waits for that (takeOver).
    if (this.clients[client.id] === client) delete this.clients[client.id];
  }

  route(message: PublishedMessage, client: Client | null, packetId?: number): void | Promise<void> {
    const emitter = this.emitter;
    if (!message.topic.startsWith('$SYS/')) this.stats.publishedMessages++;
    const atMostOnce = !message.retain && message.qos === 0 && !this.settings.storeMessagesQos0 && !this.published;
    // In-process QoS 0: nothing to store, nothing to wait for.
    if (atMostOnce && emitter instanceof MemoryEmitter) {
      this.publishing = client;
      emitter.deliver(message);
      // One test per message while no shared subscription exists anywhere.
      if (this.shared.active) this.shared.dispatch(message, null);
      this.publishing = null;
      this.emit('published', message, client);
      return;
    }
    if (atMostOnce && !this.shared.active) return this.emitAtMostOnce(message, client);
    return this.routeDurably(message, client, packetId);
  }

  /**
   * QoS 0 through an Emitter that answers later (Redis, ...): nothing to store, nothing to
   * acknowledge, so nothing is held per message while the Emitter works but what `published` needs.
   * (Held in routeDurably's frame while their Redis batch was out, such messages outlived the
   * command's 4 MB young generation; without that frame QoS 0 across instances went 1.47× faster.)
   */
  private emitAtMostOnce(message: PublishedMessage, client: Client | null): Promise<void> {
    let emitted: Promise<number | void>;
    this.publishing = client;
    try {
      emitted = this.emitter.publish(message, client?.id);
    } catch (error) {
      emitted = Promise.reject(error);
    } finally {
      this.publishing = null;
    }
    return emitted.then(() => {
      this.emit('published', message, client);
    });
  }

  private async routeDurably(message: PublishedMessage, client: Client | null, packetId?: number): Promise<void> {
    // Emitting does not wait for the Store: subscribers connected now get the message while it
    // is being stored. The ack waits for both. An in-process Emitter delivers during the call,
    // so the publisher is known to the subscribers it feeds (backpressure), and the in-flight
    // packets it starts for connected durable sessions are stored before the ack (deliveryWrites).
    const deliveryWrites: Promise<void>[] = [];
    this.publishing = client;
    this.deliveryWrites = deliveryWrites;
    const entered = ++this.routedCount;
    let emitted: Promise<number | void>;
    let dispatched: Map<string, boolean> | null = null;
    let once: Promise<{ earlier: string | null; position?: number }> | null = null;
    try {
      if (packetId !== undefined && client) {
        this.publishingOnce.set(message, client);
        once = this.emitter.publishOnce!(message, client.id, packetId);
        emitted = once.then(({ position }) => position);
      } else {
        emitted = this.emitter.publish(message, client?.id);
        // Each shared subscription's member is chosen here, where the message entered. [MQTT-4.8.2-3]
        if (this.shared.active) dispatched = this.shared.dispatch(message, deliveryWrites);
      }
    } finally {
      this.publishing = null;
      this.deliveryWrites = null;
    }
    if (once) {
      const { earlier } = await once;
      if (earlier === null) {
        if (this.shared.active) dispatched = this.shared.dispatch(message, deliveryWrites);
      } else if (earlier === '') {
        return; // a re-send of a message an earlier version recorded (Store.putIncoming) and routed
      } else {
        // A re-send of a message already emitted, by an instance that may have died before the
        // Store part: done again under its first id, which the Store refuses twice.
        message = { ...message, id: earlier, messageId: earlier };
      }
    }
    const stored: Promise<void>[] = [];
    if (message.retain) stored.push(keepRetained(this, message)); // [MQTT-3.3.1-5] [MQTT-3.3.1-10]
    if (message.qos > 0 || this.settings.storeMessagesQos0) {
      // Which sessions are offline is asked once the Emitter has the message: a session still
      // connected then is let go by its instance only after that instance has read the message
      // (endSession waits for emitter.sync()), so each session gets it one way or the other.
      const position = await emitted;
      stored.push(this.queueForOfflineSessions(message, dispatched, undefined, { position: position ?? undefined, entered }));
    }
    await Promise.all([emitted, ...stored, ...deliveryWrites]);
    // Mosca's published hook gates the ack; a failure does not undo a message already routed.
    if (this.published) {
      await callHook<void>(this, 'published', [message, client]).catch((error: unknown) => this.logger.warn({ err: error, topic: message.topic }, 'the published hook failed'));
    }
    this.emit('published', message, client);
  }

  /**
   * Queues the message for durable sessions that are offline, once per client [MQTT-3.1.2-5], as
   * their subscriptions ask: highest QoS, RETAIN if one keeps it (Retain As Published), every
   * Subscription Identifier. [MQTT-3.3.4-4]
   */
  private async queueForOfflineSessions(message: Message, dispatched: Map<string, boolean> | null, only?: ReadonlySet<string>, route?: RoutePoint): Promise<void> {
    const subscriptions = await this.store.subscriptionsByTopic(message.topic, route?.position);
    const offline = new Map<string, { qos: QoS; retain: boolean; ids?: number[] }>();
    let shared: ClientSubscription[] | null = null;
    for (const subscription of subscriptions) {
      if (only && !only.has(subscription.clientId)) continue;
      // A group's durable members: one of them gets it when no member took it above (not when
      // redoing a dead instance's deliveries: another member may have it).
      if (isSharedFilter(subscription.topic)) {
        if (!only) (shared ??= []).push(subscription);
        continue;
      }
      const { clientId, qos, connected, rap, subscriptionIdentifier } = subscription;
      // A dead instance's session may be connected again elsewhere: queued all the same, and that
      // connection told (queueOffline). The Store refuses what the session already had.
      if (connected && !only && !(route && this.connectedSince(subscription, route))) continue;
      const seen = offline.get(clientId) ?? { qos: 0, retain: false };
      if (qos > seen.qos) seen.qos = qos;
      if (rap && message.retain) seen.retain = true;
      if (subscriptionIdentifier !== undefined) (seen.ids ??= []).push(subscriptionIdentifier);
      offline.set(clientId, seen);
    }
    const writes: Promise<void>[] = [];
    for (const [clientId, { qos: granted, retain, ids }] of offline) {
      const qos = (message.qos < granted ? message.qos : granted) as QoS;
      if (qos === 0 && !this.settings.storeMessagesQos0) continue;
      // The message's id goes with it: the session closing on another instance may queue the same message (endSession).
      const queued: Message = { id: message.id, topic: message.topic, payload: message.payload, qos, retain };
      if (message.properties) queued.properties = message.properties;
      if (message.expiresAt !== undefined) queued.expiresAt = message.expiresAt;
      if (ids) queued.subscriptionIdentifiers = ids;
      writes.push(this.queueOffline(clientId, queued));
    }
    if (shared || dispatched) writes.push(...this.shared.queueUnserved(message, shared ?? [], dispatched));
    await Promise.all(writes);
  }

  /**
   * Whether a session found connected became so after the message was routed, and so may have
   * missed it: marked connected at or after the message's position in the Emitter (its instance
   * may have read it before it subscribed), or subscribed here after this instance delivered it.
   */
  private connectedSince(subscription: ClientSubscription, route: RoutePoint): boolean {
    const { connectedSince } = subscription;
    if (route.position !== undefined && connectedSince !== undefined && route.position <= connectedSince) return true;
    const local = this.clients[subscription.clientId];
    return local !== undefined && local.subscribedAt >= route.entered;
  }

  queueForSessions(message: Message, clientIds: ReadonlySet<string>): Promise<void> {
    return this.queueForOfflineSessions(message, null, clientIds);
  }

  async queueOffline(clientId: string, message: Message): Promise<void> {
    // Connected by the time the message was queued: the session came back (here or on another
    // instance) after it was found offline, and its connection may have read its queue already.
    if ((await this.enqueue(clientId, message)).connected) {
      this.control.send('queued', clientId).catch((error: unknown) => this.logger.warn({ err: error, clientId }, 'could not send the queued signal'));
    }
  }

  async enqueue(clientId: string, message: Message): Promise<EnqueueResult> {
    const result = await this.store.enqueue(clientId, message);
    if (result.dropped > 0) {
      this.stats.drop('offlineQueueFull', result.dropped);
      this.rateLimitedLog.warn('offlineQueueFull', { clientId, dropped: result.dropped }, "offline queue full (the Store's maxQueuedMessages, or bytes): its oldest messages dropped");
    }
    return result;
  }

  /** Another path queued for a session connected here: its connection reads its queue again. */
  private readQueue(clientId: string): void {
    const client = this.clients[clientId];
    if (client?.connected && client.durable) client.outbound.readStore();
  }

  async takeOver(client: Client): Promise<void> {
    const previous = this.clients[client.id];
    this.clients[client.id] = client;
    client.takeoverStamp = this.takeoverClock.stamp();
    if (previous && previous !== client) await previous.close('new connection request');
  }

  announceConnected(client: Client): void {
    if (client.logs('info')) client.logger.info({ clientId: client.id, protocolVersion: client.protocolVersion, clean: client.clean, keepalive: client.keepalive }, 'client connected');
    this.emit('clientConnected', client);
    // Only now, so that no instance closes a connection for one that never got its CONNACK. The
    // control channel, not a $SYS topic: no client can send it (Mosca used $SYS/<id>/new/clients,
    // which any client could publish to disconnect any other). Only other instances act on it.
    if (!this.control.alone) {
      const signal = this.takeoverClock.encode({ clientId: client.id, stamp: client.takeoverStamp });
      this.control.send('takeover', signal).catch((error: unknown) => this.logger.warn({ err: error, clientId: client.id }, 'could not send the takeover signal'));
    }
    // Mosca's event, for those who watch it; nothing acts on it.
    if (this.settings.publishNewClient) this.publishEvent('new/clients', client.id);
  }

  /**
   * A connection with this id got its CONNACK on another instance: the one that took the id last
   * keeps it (TakeoverClock). A late signal about an older connection closes nothing here, and a
   * newer connection here announces itself once it has its CONNACK.
   */
  private closeTakenOver(payload: Buffer, origin: ControlOrigin): void {
    if (origin.local) return;
    const signal = this.takeoverClock.decode(payload);
    if (!signal) return void this.logger.warn({ from: origin.brokerId }, 'an unreadable takeover signal was ignored');
    // The client is back, on another instance: its delayed will is not sent. [MQTT-3.1.3-9]
    this.delayedWills.cancel(signal.clientId);
    const client = this.clients[signal.clientId];
    if (client && TakeoverClock.yields(client.takeoverStamp, this.id, signal.stamp, origin.brokerId)) void client.close('new connection request');
  }

  /**
   * Publishes one of Mosca's `$SYS/<id>/<event>` messages (three per connection by default), made
   * only when something can receive it: on the in-process Emitter, a client here holding a `$SYS`
   * filter, another instance on that Emitter, a shared subscription, the `published` hook or
   * event, or QoS 0 messages kept for offline sessions. `payload` may be the function that makes it.
   */
  publishEvent(event: string, payload: string | (() => string)): void {
    if (!this.sysEventHeard()) return;
    const text = typeof payload === 'string' ? payload : payload();
    const routed = this.route(this.messageIds.message(`$SYS/${this.id}/${event}`, Buffer.from(text), 0, false), null);
    if (routed) routed.catch((error: unknown) => this.logger.warn({ err: error, event }, 'could not publish a $SYS event'));
  }

  private sysEventHeard(): boolean {
    const emitter = this.emitter;
    if (!(emitter instanceof MemoryEmitter) || this.router.hasSysSubscribers || emitter.hasSubscribers('$SYS/#', this.onSysMessage)) return true;
    return this.shared.active || this.published !== undefined || this.listenerCount('published') > 0 || this.settings.storeMessagesQos0;
  }

  async publishWill(client: Client, will: Will): Promise<void> {
    try {
      let payload = will.payload;
      if (this.authorizePublish) {
        const verdict = await callHook<boolean | Buffer | 'ignore'>(this, 'authorizePublish', [client, will.topic, will.payload]);
        if (!verdict || verdict === 'ignore') return;
        if (Buffer.isBuffer(verdict)) payload = verdict;
      }
      await this.route(this.messageIds.message(will.topic, payload, will.qos, will.retain, will.properties), client);
    } catch (error) {
      this.logger.error({ err: error, clientId: client.id }, 'could not publish the will');
    }
  }

  /**
   * Publishes from the host application (Mosca's `server.publish(packet, [client], [callback])`):
   * retained and queued for offline sessions like any other message.
   */
  publish(packet: PublishPacket, clientOrCallback?: Client | PublishCallback | null, callback?: PublishCallback): Promise<PublishedMessage> {
    const done = typeof clientOrCallback === 'function' ? clientOrCallback : callback;
    const client = typeof clientOrCallback === 'function' ? null : (clientOrCallback ?? null);
    const result = this.publishMessage(packet, client);
    if (done) {
      const source = 'a server.publish() callback';
      result.then((message) => this.callBack(source, () => done(undefined, message)), (error: Error) => this.callBack(source, () => done(error)));
    }
    return result;
  }

  private async publishMessage(packet: PublishPacket, client: Client | null): Promise<PublishedMessage> {
    const error = typeof packet?.topic === 'string' ? (topicNameError(packet.topic) ?? topicLevelsError(packet.topic, this.settings.maxTopicLevels) ?? controlTopicError(packet.topic)) : 'topic must be a string';
    if (error) throw new Error(`cannot publish to ${JSON.stringify(packet?.topic)}: ${error}`);
    const qos = packet.qos ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`qos must be 0, 1 or 2, got ${JSON.stringify(qos)}`);
    const payload = packet.payload;
    const message = this.messageIds.message(
      packet.topic,
      Buffer.isBuffer(payload) ? payload : typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload ?? []),
      qos,
      packet.retain === true,
      packet.properties,
    );
    await this.started;
    if (this.closed) throw new Error('the server is closed');
    await this.route(message, client);
    return message;
  }

  /**
   * Mosca's raw subscription for the host application: `callback(topic, payload, { qos, retain,
   * messageId })` for every message matching `filter` on any instance. No MQTT session, no
   * retained messages.
   */
  async subscribe(
    filter: string,
    callback: (topic: string, payload: Buffer, options: { qos: QoS; retain: boolean; messageId: string }) => void,
    done?: (error?: Error) => void,
  ): Promise<void> {
    try {
      const error = topicFilterError(filter) ?? topicLevelsError(filter, this.settings.maxTopicLevels);
      if (error) throw new Error(`cannot subscribe to ${JSON.stringify(filter)}: ${error}`);
      await this.started;
      await this.emitter.subscribe(filter, (message) =>
        this.callBack('a server.subscribe() callback', () => callback(message.topic, message.payload, { qos: message.qos, retain: message.retain, messageId: message.id })),
      );
      if (done) this.callBack('a server.subscribe() callback', done);
    } catch (error) {
      if (!done) throw error;
      this.callBack('a server.subscribe() callback', () => done(error as Error));
    }
  }

  /** Stops accepting, closes every client (no wills), then the Store and Emitter. Idempotent. */
  close(callback?: (error?: Error) => void): Promise<void> {
    if (!this.stopping) this.stopping = this.stop();
    if (callback) {
      const source = 'a server.close() callback';
      this.stopping.then(() => this.callBack(source, () => callback()), (error: Error) => this.callBack(source, () => callback(error)));
    }
    return this.stopping;
  }

  private async stop(): Promise<void> {
    await this.started.catch(() => undefined);
    this.closed = true;
    this.delayedWills.clear();
    this.keepalive?.stop();
    this.sys?.stop();
    for (const wss of this.attachedWebSockets) wss.close();
    const stopAccepting = Promise.all(this.listening.map((listener) => listener.close()));
    await Promise.all([...this.connections].map((client) => client.close('server closed')));
    await stopAccepting;
    await this.shared.stop();
    await this.sweeper?.stop();
    await this.failover?.stop();
    await closePlugins(this.plugins);
    await this.release();
    this.logger.info('closed');
    this.emit('closed');
  }

  private async release(): Promise<void> {
    if (this.emitter) await this.emitter.close();
    if (this.store) await this.store.close();
  }
}
