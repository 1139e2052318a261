import { ByteBudget, messageCost } from '../connection/byte-budget.js';
import type { ClientSubscription, Message, MessageProperties, OutgoingPacket, QoS, QueuedMessage, RecordPage, StoredRecord, Subscription, Will } from '../types.js';
import { pagesOf, RetainedIndex, type RetainedEntry } from '../topics/retained-index.js';
import { RecordTable } from './record-table.js';
import { RemovedIds } from './removed-ids.js';
import { SessionIndex, type SessionRecord } from './session-index.js';
import { DEFAULT_STORE_LIMITS, type EnqueueResult, type Store, type StoreOptions } from './store.js';

interface Session extends SessionRecord {
  queue: QueueEntry[];
  /** What the queue counts for in the byte limits. */
  queueBytes: number;
  /** The message ids the queue holds, and those it removed lately, for the idempotent enqueue. */
  queuedIds: Set<string>;
  removedIds: RemovedIds | null;
  /** The id the next queued message gets. */
  nextQueueId: number;
  outgoing: Map<number, { packet: OutgoingPacket; expiresAt: number }>;
  incoming: Set<number>;
}

interface QueueEntry {
  id: number;
  message: Message;
  expiresAt: number;
  /** What it counts for in the byte limits (messageCost). */
  cost: number;
}

/** The memory Store keeps offline queues in the broker's heap: they are bounded by bytes too. */
export interface MemoryStoreOptions extends StoreOptions {
  /** Bytes of offline messages kept per client (messageCost); the oldest are dropped beyond it. Default 16 MiB. */
  maxQueuedBytes?: number;
  /** A budget shared with the broker's queues (its `maxTotalQueuedBytes`); a message that does not fit is dropped. */
  budget?: ByteBudget;
}

/**
 * The in-memory Store: the embedded default. Nothing survives the process; TTLs are checked
 * lazily on read, and sweepExpired() (the broker's timer) forgets sessions nobody reads.
 */
export class MemoryStore implements Store {
  private readonly retained = new RetainedIndex<RetainedRecord>();
  private readonly sessions = new SessionIndex<Session>();
  private readonly wills = new Map<string, Will>();
  private readonly records = new RecordTable();
  private readonly subscriptionsTtl: number;
  private readonly packetsTtl: number;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;
  private readonly budget: ByteBudget;

  constructor(options: MemoryStoreOptions = {}) {
    this.subscriptionsTtl = options.ttl?.subscriptions ?? DEFAULT_STORE_LIMITS.subscriptionsTtl;
    this.packetsTtl = options.ttl?.packets ?? DEFAULT_STORE_LIMITS.packetsTtl;
    this.maxQueued = options.maxQueuedMessages ?? DEFAULT_STORE_LIMITS.maxQueuedMessages;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_STORE_LIMITS.maxQueuedBytes;
    this.budget = options.budget ?? new ByteBudget(Number.MAX_SAFE_INTEGER);
  }

  async storeRetained(message: Message, maxCount = Infinity): Promise<boolean> {
    if (message.payload.length === 0) {
      this.retained.remove(message.topic);
      return true;
    }
    if (this.retained.size >= maxCount && !this.retained.has(message.topic)) return false;
    this.retained.set(recordOf(message));
    return true;
  }

  async countRetained(): Promise<number> {
    return this.retained.size;
  }

  async countOfflineSessions(): Promise<number> {
    return this.sessions.countOffline();
  }

  async *retainedPages(filters: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined> {
    const pages = pagesOf(this.retained.cursor(filters), pageSize, (topics) => {
      for (const topic of topics) this.retained.remove(topic);
    });
    for await (const records of pages) yield records.map(messageOf);
  }

  mayHaveRetained(filters: readonly string[]): boolean {
    return this.retained.mayMatch(filters);
  }

  async matchRetained(filters: readonly string[]): Promise<Message[]> {
    const { entries, expired } = this.retained.matchLive(filters);
    for (const topic of expired) this.retained.remove(topic);
    return entries.map(messageOf);
  }

  /** The live session of a client, forgetting it first when its TTL ran out. */
  private live(clientId: string): Session | undefined {
    const session = this.sessions.get(clientId);
    if (session && this.sessions.expired(session)) {
      this.forget(clientId);
      return undefined;
    }
    return session;
  }

  /** Deletes a session, giving its queue's bytes back. */
  private forget(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (session) this.budget.release(session.queueBytes);
    this.sessions.delete(clientId);
  }

  private ensure(clientId: string): Session {
    let session = this.live(clientId);
    if (!session) {
      session = {
        subscriptions: new Map(),
        connected: false,
        expiresAt: Date.now() + this.subscriptionsTtl,
        queue: [],
        queueBytes: 0,
        queuedIds: new Set(),
        removedIds: null,
        nextQueueId: 0,
        outgoing: new Map(),
        incoming: new Set(),
      };
      this.sessions.set(clientId, session);
    }
    return session;
  }

  async getSession(clientId: string): Promise<Subscription[] | null> {
    const session = this.live(clientId);
    if (!session) return null;
    return [...session.subscriptions.values()].map((subscription) => ({ ...subscription }));
  }

  async createSession(clientId: string): Promise<void> {
    this.ensure(clientId);
  }

  async addSubscriptions(clientId: string, subscriptions: readonly Subscription[]): Promise<void> {
    this.sessions.subscribe(clientId, this.ensure(clientId), subscriptions);
  }

  async removeSubscriptions(clientId: string, topics: readonly string[]): Promise<void> {
    const session = this.live(clientId);
    if (session) this.sessions.unsubscribe(clientId, session, topics);
  }

  async subscriptionsByTopic(topic: string): Promise<ClientSubscription[]> {
    return this.sessions.match(topic);
  }

  async setConnected(clientId: string, connected: boolean, expiryInterval?: number): Promise<void> {
    const session = this.live(clientId);
    if (!session) return;
    session.connected = connected;
    if (expiryInterval !== undefined) session.expiryInterval = expiryInterval;
    session.expiresAt = Date.now() + (session.expiryInterval ?? this.subscriptionsTtl);
  }

  async deleteSession(clientId: string): Promise<void> {
    this.forget(clientId);
    this.wills.delete(clientId);
  }

  async sweepExpired(): Promise<number> {
    const now = Date.now();
    const expired = [...this.sessions.entries()].filter(([, session]) => this.sessions.expired(session, now));
    for (const [clientId] of expired) this.forget(clientId);
    for (const topic of this.retained.expiredTopics(now)) this.retained.remove(topic);
    return expired.length;
  }

  /**
   * Keeps at most maxQueuedMessages and maxQueuedBytes (a larger message alone), within the
   * broker's budget: a message that does not fit it is not queued, and counted as dropped.
   */
  async enqueue(clientId: string, message: Message): Promise<EnqueueResult> {
    const session = this.live(clientId);
    if (!session) return { connected: false, dropped: 0 };
    if (message.id !== '' && (session.queuedIds.has(message.id) || session.removedIds?.has(message.id))) return { connected: false, dropped: 0 };
    const cost = messageCost(message);
    let dropped = 0;
    const queue = session.queue;
    while (queue.length > 0 && (queue.length >= this.maxQueued || session.queueBytes + cost > this.maxQueuedBytes)) {
      this.forgetEntry(session, queue.shift()!);
      dropped++;
    }
    if (!this.budget.take(cost)) return { connected: false, dropped: dropped + 1 };
    if (message.id !== '') session.queuedIds.add(message.id);
    session.queueBytes += cost;
    queue.push({ id: session.nextQueueId++, message, expiresAt: Date.now() + this.packetsTtl, cost });
    return { connected: session.connected, dropped };
  }

  /** An entry left the queue: its bytes go back to the budget, its id out of the set. */
  private forgetEntry(session: Session, entry: QueueEntry): void {
    session.queueBytes -= entry.cost;
    this.budget.release(entry.cost);
    session.queuedIds.delete(entry.message.id);
  }

  async peekQueue(clientId: string, limit: number): Promise<QueuedMessage[]> {
    const session = this.live(clientId);
    if (!session) return [];
    const now = Date.now();
    this.keepQueued(session, (q) => q.expiresAt > now);
    return session.queue.slice(0, limit).map((q) => ({ id: String(q.id), message: q.message }));
  }

  async removeQueued(clientId: string, ids: readonly string[]): Promise<void> {
    const session = this.live(clientId);
    if (!session || ids.length === 0) return;
    const removed = new Set(ids);
    const taken = session.queue.filter((q) => removed.has(String(q.id)));
    if (taken.length === 0) return;
    this.keepQueued(session, (q) => !removed.has(String(q.id)));
    const recent = (session.removedIds ??= new RemovedIds(DEFAULT_STORE_LIMITS.removedIdsKept, this.packetsTtl));
    for (const q of taken) recent.add(q.message.id);
  }

  /** Keeps the queue entries `keep` accepts, forgetting the others. */
  private keepQueued(session: Session, keep: (entry: QueueEntry) => boolean): void {
    session.queue = session.queue.filter((q) => {
      if (keep(q)) return true;
      this.forgetEntry(session, q);
      return false;
    });
  }

  async putOutgoing(clientId: string, packet: OutgoingPacket): Promise<void> {
    const session = this.ensure(clientId);
    const previous = session.outgoing.get(packet.messageId);
    // Replacing keeps the first-sent position, since Map iteration follows insertion order.
    session.outgoing.set(packet.messageId, { packet, expiresAt: previous?.expiresAt ?? Date.now() + this.packetsTtl });
  }

  async removeOutgoing(clientId: string, messageId: number): Promise<void> {
    this.live(clientId)?.outgoing.delete(messageId);
  }

  async getOutgoing(clientId: string): Promise<OutgoingPacket[]> {
    const session = this.live(clientId);
    if (!session) return [];
    const now = Date.now();
    const packets: OutgoingPacket[] = [];
    for (const [id, entry] of session.outgoing) {
      if (entry.expiresAt > now) packets.push(entry.packet);
      else session.outgoing.delete(id);
    }
    return packets;
  }

  async putIncoming(clientId: string, messageId: number): Promise<boolean> {
    const incoming = this.ensure(clientId).incoming;
    if (incoming.has(messageId)) return false;
    incoming.add(messageId);
    return true;
  }

  async removeIncoming(clientId: string, messageId: number): Promise<void> {
    this.live(clientId)?.incoming.delete(messageId);
  }

  async putWill(clientId: string, will: Will): Promise<void> {
    this.wills.set(clientId, will);
  }

  async getWill(clientId: string): Promise<Will | null> {
    return this.wills.get(clientId) ?? null;
  }

  async deleteWill(clientId: string): Promise<void> {
    this.wills.delete(clientId);
  }

  /** Every will held here is one of this process's connections: none is orphaned. */
  async claimOrphanedWills(): Promise<{ clientId: string; will: Will }[]> {
    return [];
  }

  async putRecord(collection: string, key: string, value: Buffer, expiresAt?: number): Promise<void> {
    this.records.put(collection, key, value, expiresAt);
  }

  async getRecord(collection: string, key: string): Promise<Buffer | null> {
    return this.records.get(collection, key);
  }

  async deleteRecords(collection: string, keys: readonly string[]): Promise<number> {
    return this.records.delete(collection, keys);
  }

  async listRecords(collection: string, page?: RecordPage): Promise<StoredRecord[]> {
    return this.records.list(collection, page);
  }

  async close(): Promise<void> {
    for (const [, session] of this.sessions.entries()) this.budget.release(session.queueBytes);
    this.records.clear();
    this.retained.clear();
    this.sessions.clear();
    this.wills.clear();
  }
}

/**
 * A retained message as the memory store keeps it: a million small retained messages are a
 * million of these, so each holds only the message's own fields (not what deliveries hung on it, a
 * shared encoding or Mosca's `messageId`), and a small payload as a one-byte string: a Buffer
 * costs an object of about 90 B besides its bytes, a string 16 B, and copying it out of the socket
 * read it shares means that a small retained message does not keep a 64 KB read alive.
 */
interface RetainedRecord extends RetainedEntry {
  /** The message id, or its part before the counter when it has one (see idOf). */
  readonly idPrefix: string;
  /** The id's counter (MessageIds), or -1 when `idPrefix` is the whole id. */
  readonly idCount: number;
  readonly topic: string;
  readonly payload: Buffer | string;
  readonly qos: QoS;
  properties?: MessageProperties;
  expiresAt?: number;
}

/** Payloads from this size on are kept as the Buffer they came in: most of the buffer they share is theirs. */
const SMALL_PAYLOAD = 4096;

/**
 * The ids of the messages one broker makes share a prefix and end in a base-36 counter
 * (MessageIds): a record keeps the prefix, shared, and the counter as a small integer, not a
 * string of about 56 B of its own. Any other id is kept whole. Prefixes are few (one per broker
 * start); past MAX_ID_PREFIXES the ids of new ones are kept whole.
 */
const idPrefixes = new Map<string, string>();
const MAX_ID_PREFIXES = 256;
const MAX_ID_COUNT = 0x3fffffff;

function idParts(id: string): [string, number] {
  const dash = id.lastIndexOf('-');
  const counter = id.slice(dash + 1);
  const count = dash < 0 || counter.length === 0 || counter.length > 6 ? -1 : parseInt(counter, 36);
  if (!(count >= 0 && count <= MAX_ID_COUNT && count.toString(36) === counter)) return [id, -1];
  const key = id.slice(0, dash + 1);
  let prefix = idPrefixes.get(key);
  if (prefix === undefined) {
    if (idPrefixes.size >= MAX_ID_PREFIXES) return [id, -1];
    idPrefixes.set(key, (prefix = key));
  }
  return [prefix, count];
}

function idOf(record: RetainedRecord): string {
  return record.idCount < 0 ? record.idPrefix : record.idPrefix + record.idCount.toString(36);
}

function recordOf(message: Message): RetainedRecord {
  const payload = message.payload;
  const [idPrefix, idCount] = idParts(message.id);
  const record: RetainedRecord = { idPrefix, idCount, topic: message.topic, payload: payload.length < SMALL_PAYLOAD ? payload.toString('latin1') : payload, qos: message.qos };
  if (message.properties !== undefined) record.properties = message.properties;
  if (message.expiresAt !== undefined) record.expiresAt = message.expiresAt;
  return record;
}

/** The message a record holds, a copy of its own for the caller. */
function messageOf(record: RetainedRecord): Message {
  const payload = record.payload;
  const message: Message = { id: idOf(record), topic: record.topic, payload: typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload, qos: record.qos, retain: true };
  if (record.properties !== undefined) message.properties = record.properties;
  if (record.expiresAt !== undefined) message.expiresAt = record.expiresAt;
  return message;
}
