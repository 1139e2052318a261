import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ByteBudget } from './connection/byte-budget.js';
import type { Client } from './connection/client.js';
import type { DelayedWills } from './connection/delayed-wills.js';
import type { ControlChannel } from './control/control-channel.js';
import type { Emitter } from './emitter/emitter.js';
import type { AuthenticationMethod, HookHost } from './hooks.js';
import type { ResolvedOptions } from './options.js';
import type { Router } from './router/router.js';
import type { SharedSubscriptions } from './router/shared-subscriptions.js';
import type { EnqueueResult, Store } from './store/store.js';
import type { RateLimitedLog } from './logger.js';
import type { BrokerStats } from './sys/broker-stats.js';
import type { MessageIds } from './message-ids.js';
import type { SysReadAccess } from './sys/topic-access.js';
import type { Message, PublishedMessage, Will } from './types.js';

/**
 * What connections and packet handlers see of the server: its parts, not its public API.
 * The Server implements it; handlers stay testable and free of the Mosca surface.
 */
export interface Broker extends EventEmitter, HookHost {
  readonly id: string;
  readonly settings: ResolvedOptions;
  readonly store: Store;
  readonly emitter: Emitter;
  readonly router: Router;
  /** Shared subscriptions (`$share/<group>/<filter>`): members here, and what other instances announced. */
  readonly shared: SharedSubscriptions;
  /** True once close() began. */
  readonly closed: boolean;
  readonly logger: Logger;
  /** For conditions that may repeat at the rate of messages (drops, refused publishes). */
  readonly rateLimitedLog: RateLimitedLog;
  readonly stats: BrokerStats;
  /** Messages between broker instances, on a channel clients cannot write. */
  readonly control: ControlChannel;
  /** Which clients may read which `$SYS` topics. */
  readonly sysAccess: SysReadAccess;
  /** Bytes waiting in every client's queue together (`maxTotalQueuedBytes`). */
  readonly queuedBytes: ByteBudget;
  /** Connected clients by id (Mosca's `server.clients`). */
  readonly clients: Record<string, Client>;
  /** Bytes held for packets still arriving, across every connection (`maxIncompletePacketBytes`). */
  readonly incompletePackets: ByteBudget;
  /** MQTT 5 wills waiting for their Will Delay Interval. */
  readonly delayedWills: DelayedWills;
  /** MQTT 5 enhanced authentication methods by name; a CONNECT naming another is refused (0x8C). */
  readonly authenticationMethods: Record<string, AuthenticationMethod>;
  /** The client whose message is being delivered right now, for backpressure (Client.throttle). */
  readonly publishing: Client | null;
  /**
   * While a message is emitted in-process, the Store writes its delivery starts for connected
   * durable sessions (their in-flight packet, putOutgoing) are collected here: the publisher's
   * ack waits for them, so a crash after the ack cannot lose the message. Null otherwise.
   */
  readonly deliveryWrites: Promise<void>[] | null;
  /** Gives each message entering this broker its id. */
  readonly messageIds: MessageIds;
  /**
   * Stores, queues for offline sessions and emits a message. Returns a promise, settled once it is
   * safe to acknowledge, unless everything was done synchronously (the in-process QoS 0 path).
   * `packetId`: a durable session's QoS 2 PUBLISH, when `incomingViaEmitter`.
   */
  route(message: PublishedMessage, client: Client | null, packetId?: number): void | Promise<void>;
  /**
   * Whether the Emitter records a durable session's incoming QoS 2 packet ids itself, atomically
   * with publishing (Emitter.publishOnce, Store.sharesIncomingWith): `route` then takes the packet id.
   */
  readonly incomingViaEmitter: boolean;
  /** How many messages were routed here so far (Client.subscribedAt). */
  readonly routedCount: number;
  /**
   * Queues a message for a durable session that is not connected to this connection, counting and
   * logging what the Store dropped to make room; if the Store finds the session connected (it came
   * back meanwhile, here or on another instance), its connection is told to read its queue.
   */
  queueOffline(clientId: string, message: Message): Promise<void>;
  /**
   * Queues a message for those of `clientIds` whose durable subscriptions match it, connected or
   * not (the sessions of an instance that died, Store.claimDeadInstances: those connected again
   * elsewhere may lack it too); a connection holding one of them is told to read its queue.
   */
  queueForSessions(message: Message, clientIds: ReadonlySet<string>): Promise<void>;
  /** Store.enqueue, counting and logging what the Store dropped to make room. */
  enqueue(clientId: string, message: Message): Promise<EnqueueResult>;
  /**
   * Admits a client that sent CONNECT under `maxConnections` (one taking over its own id always
   * is); false when it must be refused. An admitted client is released when it is forgotten.
   */
  admit(client: Client): boolean;
  /** Closes any other connection with the client's id on this instance, and stamps this one. */
  takeOver(client: Client): Promise<void>;
  /**
   * The connection got its CONNACK: `clientConnected`, Mosca's `$SYS/<id>/new/clients`, and the
   * signal that closes an older connection with this id on other instances.
   */
  announceConnected(client: Client): void;
  /** Publishes `$SYS/<broker id>/<event>` (Mosca's event topics), without waiting. */
  publishEvent(event: string, payload: string | (() => string)): void;
  /** A connection is closed and its session ended: the server stops tracking it. */
  forget(client: Client): void;
  /** Publishes a will through authorizePublish, as Mosca did. */
  publishWill(client: Client, will: Will): Promise<void>;
}
