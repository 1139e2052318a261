import type { Emitter } from '../emitter/emitter.js';
import type { ClientSubscription, Message, OutgoingPacket, QueuedMessage, RecordPage, StoredRecord, Subscription, Will } from '../types.js';

/**
 * Everything a broker must remember beyond one connection. Every operation is atomic on its own:
 * an implementation backed by a server makes each call a single transaction (MULTI, Lua, ...), so
 * a crash between two calls never loses or duplicates a message.
 *
 * Adapters are checked by `@skynet-mqtt/contract-tests` (`storeContract`).
 */
export interface Store {
  // Retained messages -----------------------------------------------------------------------
  /**
   * Stores `message` as the retained message of its topic; an empty payload deletes it. With
   * `maxCount`, a message for a topic that has none is not stored once `maxCount` topics have one:
   * resolves false then, true otherwise. The check and the write are one atomic step.
   */
  storeRetained(message: Message, maxCount?: number): Promise<boolean>;
  /** How many topics have a retained message. */
  countRetained(): Promise<number>;
  /**
   * Every retained message whose topic matches one of `filters` ($-topic rules included), but
   * those whose `expiresAt` has passed: those are removed (MQTT 5 Message Expiry Interval).
   */
  matchRetained(filters: readonly string[]): Promise<Message[]>;
  /**
   * The messages matchRetained gives, read a page of at most `pageSize` (never an empty one) each
   * time the caller asks for the next: a subscription matching millions of retained messages is
   * replayed as its socket drains, never held whole in memory. Each matching message comes once;
   * those stored or deleted during the walk may or may not. The messages are copies the caller
   * owns (a replay sets their id). `return()` ends a walk early.
   */
  retainedPages(filters: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined>;
  /**
   * Optional: false when, without a round trip, no retained message can match `filters` (a
   * SUBSCRIBE then starts no replay at all); true when some may.
   */
  mayHaveRetained?(filters: readonly string[]): boolean;

  // Durable sessions and their subscriptions -------------------------------------------------
  /** The stored subscriptions of a durable session, or null when no session is stored. */
  getSession(clientId: string): Promise<Subscription[] | null>;
  /** Creates the session if needed; adds or replaces subscriptions by filter. */
  addSubscriptions(clientId: string, subscriptions: readonly Subscription[]): Promise<void>;
  /** Creates an empty durable session when none exists (a client that never subscribed). */
  createSession(clientId: string): Promise<void>;
  removeSubscriptions(clientId: string, topics: readonly string[]): Promise<void>;
  /**
   * Every durable subscription whose filter matches `topic`, one entry per client and filter.
   * `position`: where the Emitter put the message being routed (Emitter.publish), when it numbers
   * messages; a Store whose sessions record one position per Emitter channel (Redis with `shards`)
   * answers `connectedSince` in the terms of that message's channel.
   */
  subscriptionsByTopic(topic: string, position?: number): Promise<ClientSubscription[]>;
  /**
   * Records whether a durable session is connected to some broker instance. Publishers queue
   * messages only for sessions that are not: a connected one receives them through the Emitter.
   * `expiryInterval` (milliseconds) is how long the session lives once offline (MQTT 5's Session
   * Expiry Interval); without it, what an earlier call gave, else `ttl.subscriptions`. It is
   * remembered while connected, so a session whose broker died expires by its own interval too.
   * A Store shared by several instances marks the session with the instance that connected it,
   * and `setConnected(id, false)` clears only its own mark: a session connected again through
   * another instance in the meantime stays connected.
   */
  setConnected(clientId: string, connected: boolean, expiryInterval?: number): Promise<void>;
  /** Forgets the session: subscriptions, offline queue, in-flight packets, incoming ids, will. */
  deleteSession(clientId: string): Promise<void>;
  /**
   * Forgets every durable session whose time ran out (offline for longer than `ttl.subscriptions`)
   * with everything filed under it but its will; resolves with how many. Also removes the retained
   * messages whose `expiresAt` has passed. Sessions also expire
   * lazily when read, but one whose client never returns is read by no one: the broker calls this
   * every `sessionSweepInterval`, so they do not pile up.
   */
  sweepExpired(): Promise<number>;

  // Offline queue ---------------------------------------------------------------------------
  /**
   * Appends to the client's offline queue; when full, the oldest entries are dropped. Idempotent on
   * `message.id`: a message with an id the queue holds, or one of the last `removedIdsKept` it
   * removed (removeQueued) within `ttl.packets`, is not queued again. A publisher and a connection
   * closing on another instance may each queue the same message, one of them after the session
   * came back and took the other copy. An empty id is never taken for another; an entry dropped
   * (full queue, expiry) is forgotten.
   *
   * `connected` is true when the message was queued for a session marked connected at that moment
   * (it reconnected after the caller found it offline): its connection must be told to read its
   * queue; false when the session is offline, or when nothing was queued (no session, a duplicate).
   * `dropped` counts the older entries dropped to make room, which the broker counts and logs.
   */
  enqueue(clientId: string, message: Message): Promise<EnqueueResult>;
  /**
   * The oldest `limit` queued messages, each with an id, without removing them: a message leaves
   * the queue (removeQueued) only once it is safely in flight, so a crash in between cannot lose it.
   */
  peekQueue(clientId: string, limit: number): Promise<QueuedMessage[]>;
  /** Removes queued messages by the ids peekQueue gave them; unknown ids are ignored. */
  removeQueued(clientId: string, ids: readonly string[]): Promise<void>;

  // Outgoing in-flight packets (QoS 1 and 2, broker → client) ------------------------------
  /**
   * Records or replaces (by messageId) a packet sent but not yet acknowledged. A Store shared by
   * instances (Redis) may refuse a new one, writing nothing: 'elsewhere' when the session is
   * connected through another instance (the caller's connection is an old one: the caller queues
   * the message instead), and, with `refuseTaken`, 'had' when the session already took that
   * message (its id) through an earlier connection. Others resolve with nothing, or 'stored'.
   */
  putOutgoing(clientId: string, packet: OutgoingPacket, refuseTaken?: boolean): Promise<PutOutgoingResult | void>;
  /** Forgets an outgoing packet (PUBACK, PUBCOMP). */
  removeOutgoing(clientId: string, messageId: number): Promise<void>;
  /** Every unacknowledged outgoing packet, in the order they were first sent. */
  getOutgoing(clientId: string): Promise<OutgoingPacket[]>;

  // Incoming QoS 2 packet ids (client → broker) ----------------------------------------------
  /** Records a received QoS 2 id; resolves false when it was already recorded (a re-send). */
  putIncoming(clientId: string, messageId: number): Promise<boolean>;
  /**
   * Optional: whether `emitter` records this Store's incoming QoS 2 ids itself, atomically with
   * publishing (Emitter.publishOnce): the broker then routes a durable session's QoS 2 messages
   * that way instead of calling putIncoming first.
   */
  sharesIncomingWith?(emitter: Emitter): boolean;
  removeIncoming(clientId: string, messageId: number): Promise<void>;

  // Wills -----------------------------------------------------------------------------------
  /** Stores the client's will, with its `delayMs` and, once its connection ended, its `delayUntil`. */
  putWill(clientId: string, will: Will): Promise<void>;
  getWill(clientId: string): Promise<Will | null>;
  /**
   * Forgets the client's will; with `onlyDelayed`, only a will waiting for its delay (one stored
   * with `delayUntil`): the broker publishing a delayed will must not delete the will of a newer
   * connection of the client. Stores without shared wills may ignore `onlyDelayed`.
   */
  deleteWill(clientId: string, onlyDelayed?: boolean): Promise<void>;
  /**
   * The wills stored by broker processes that are gone without ending their connections (killed,
   * crashed), removed as they are returned: each is claimed by one caller only. A process that
   * closes cleanly leaves none (each ending connection deletes its will). Memory: none, nothing
   * outlives the process; LevelDB: those found at open; Redis: those of Store instances whose
   * liveness key is gone.
   */
  claimOrphanedWills(): Promise<{ clientId: string; will: Will }[]>;
  /**
   * Stores shared by running instances (Redis): takes over the duties of broker instances that
   * died (their liveness ran out), each instance claimed by one caller only: its durable sessions
   * are marked offline (publishers queue for them from then on), its wills that are due are
   * returned (a delayed one stays until due, for a later call), and so are the messages it had
   * read from the Emitter and may not have stored for its sessions. The broker calls it
   * periodically (`failoverInterval`) and publishes and queues what it gets.
   */
  claimDeadInstances?(): Promise<DeadInstances>;

  // Records: small keyed values that plugins keep beside the broker's state (device registry, ...)
  /**
   * Stores `value` under `key` in `collection`, replacing any record there. With `expiresAt`
   * (milliseconds since the epoch) the record is gone from that moment on, whatever the backend's
   * expiry sweep does; without it, it lives until deleted. See `recordNameError` for the names.
   */
  putRecord(collection: string, key: string, value: Buffer, expiresAt?: number): Promise<void>;
  /** The record's value, or null when there is none or it has expired. */
  getRecord(collection: string, key: string): Promise<Buffer | null>;
  /** Deletes the records; resolves to how many of them existed (expired ones not counted). */
  deleteRecords(collection: string, keys: readonly string[]): Promise<number>;
  /**
   * Live records of `collection` in ascending order of their keys' UTF-8 bytes: those whose key
   * starts with `page.prefix`, after the key `page.after` (for paging), at most `page.limit`.
   */
  listRecords(collection: string, page?: RecordPage): Promise<StoredRecord[]>;

  // Health ----------------------------------------------------------------------------------
  /**
   * How many durable sessions are stored and not connected, for Stores that can count them
   * cheaply (those holding their session index in memory); absent otherwise.
   */
  countOfflineSessions?(): Promise<number>;
  /**
   * Resolves once the Store's server answered a round trip; rejects at once when it is known to be
   * unreachable. Absent on Stores with no server (they are always reachable).
   */
  ping?(): Promise<void>;

  /** Releases every connection and timer; pending writes are flushed first. */
  close(): Promise<void>;
}

/** What Store.putOutgoing did with a new packet. */
export type PutOutgoingResult = 'stored' | 'elsewhere' | 'had';

/** What Store.claimDeadInstances took over. */
export interface DeadInstances {
  /** The ids of the instances found dead by this call. */
  instances: string[];
  /** Wills to publish now. */
  wills: { clientId: string; will: Will }[];
  /** Durable sessions that were connected to a dead instance: offline now, or connected again elsewhere. */
  sessions: string[];
  /**
   * Messages a dead instance had read from the Emitter after the last point up to which it had
   * stored everything for its sessions, each with those of `sessions` that may lack it: to be
   * queued again for them (enqueue refuses the ones a session already has, queued or taken).
   */
  unfinished: { message: Message; sessions: ReadonlySet<string> }[];
}

/** What Store.enqueue did. */
export interface EnqueueResult {
  /** Queued for a session marked connected: its connection must be told to read its queue. */
  connected: boolean;
  /** Older messages dropped to make room. */
  dropped: number;
}

/** Limits every Store applies, with Mosca's names. */
export interface StoreOptions {
  ttl?: {
    /** Milliseconds a durable session's subscriptions live without a reconnect (Mosca: 1 h). */
    subscriptions?: number;
    /** Milliseconds a queued or in-flight packet lives (Mosca: 1 h). */
    packets?: number;
  };
  /** Maximum offline messages kept per client; the oldest is dropped beyond it. */
  maxQueuedMessages?: number;
}

/** Why a record collection or key cannot be stored, or null: the names every Store accepts. */
export function recordNameError(collection: string, key?: string): string | null {
  if (typeof collection !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(collection)) {
    return `record collection ${JSON.stringify(collection)} must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`;
  }
  if (key === undefined) return null;
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > 1024 || key.includes('\u0000')) {
    return `record key ${JSON.stringify(key)} must be a string of 1 to 1024 bytes without NUL`;
  }
  return null;
}

/** Throws the recordNameError, if any: Stores call it first in each record method. */
export function checkRecordName(collection: string, key?: string): void {
  const error = recordNameError(collection, key);
  if (error) throw new TypeError(error);
}

/** The page size of listRecords when none is given. */
export const DEFAULT_RECORD_PAGE = 1000;

export const DEFAULT_STORE_LIMITS = {
  subscriptionsTtl: 3_600_000,
  packetsTtl: 3_600_000,
  maxQueuedMessages: 10_000,
  /** The memory Store's only: its queues are in the broker's heap. */
  maxQueuedBytes: 16 * 1024 * 1024,
  /** Ids of messages removed from a client's queue that enqueue still refuses (see Store.enqueue). */
  removedIdsKept: 1_000,
} as const;
