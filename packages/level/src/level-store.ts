import {
  DEFAULT_STORE_LIMITS,
  type AdapterLogger,
  type EnqueueResult,
  RemovedIds,
  pagesOf,
  RetainedIndex,
  type RetainedEntry,
  SessionIndex,
  type ClientSubscription,
  type SessionRecord,
  type Message,
  type OutgoingPacket,
  type QueuedMessage,
  type RecordPage,
  type Store,
  type StoredRecord,
  type Subscription,
  type Will,
} from '@skynet-mqtt/core';
import {
  decodeMessage,
  decodeOutgoingEntry,
  decodeSubscription,
  decodeQueueEntry,
  decodeSession,
  encodeMessage,
  encodeOutgoingEntry,
  encodeSubscription,
  encodeQueueEntry,
  encodeSession,
  peekOutgoingHead,
} from './codec.js';
import { openDatabase, type Database, type Operation } from './database.js';
import { clientKey, clientRange, messageIdSuffix, nameKey, parseClientKey, parseQueuedId, queuedId, sequence, spaceRange, type Range } from './keys.js';
import { KeyedMutex } from './mutex.js';
import { LevelRecords } from './records.js';
import type { LevelStoreOptions } from './options.js';

/**
 * The offline queue's keys lie in the sequences [first, next). The broker removes what it read from
 * the head, so the range has no lasting holes and its length is the bound the queue keeps.
 */
interface QueueState {
  first: number;
  next: number;
}

/** Where each in-flight packet id sits, so replacing one keeps its first-sent position. */
interface OutgoingState {
  next: number;
  byId: Map<number, { seq: number; expiresAt: number }>;
}

const put = (key: string, value: Buffer): Operation => ({ type: 'put', key, value });
const del = (key: string): Operation => ({ type: 'del', key });

/**
 * A Store on an embedded LevelDB (classic-level): everything survives a restart of the one broker
 * process that holds the database lock. Sessions, subscriptions and retained messages are also
 * indexed in memory (loaded at open) so that routing a PUBLISH never touches the disk; queues,
 * in-flight packets, incoming ids and wills are read from disk on demand.
 *
 * Each call runs under a per-client (or per-topic) lock and commits its changes in one atomic
 * batch. Writes that a client will see acknowledged (SUBACK, UNSUBACK, PUBACK/PUBREC of a stored
 * QoS>0 message, an in-flight packet before it is sent) use `sync: true`: fsync before resolving.
 * TTLs are checked lazily, as in MemoryStore.
 */
export class LevelStore implements Store {
  /** Retained topics (and expiries), not payloads: those are read from disk when replayed. */
  private readonly retained = new RetainedIndex<RetainedEntry>();
  /** New retained topics being written, counted against maxCount before they are in the index. */
  private retainedBeingCreated = 0;
  /** Sessions and their subscriptions, mirroring the `sessions` and `subscriptions` spaces. */
  private readonly sessions = new SessionIndex<SessionRecord>();
  private readonly queues = new Map<string, QueueState>();
  /**
   * Ids lately removed from each queue, which enqueue still refuses. In memory only: the late
   * duplicates they stop come from connections closing while this process runs.
   */
  private readonly removedIds = new Map<string, RemovedIds>();
  private readonly outgoing = new Map<string, OutgoingState>();
  /** Clients whose will was on disk at open: stored by a process that did not end their connection. */
  private readonly orphanedWills = new Set<string>();
  private readonly locks = new KeyedMutex();
  private readonly subscriptionsTtl: number;
  private readonly packetsTtl: number;
  private readonly maxQueued: number;
  private readonly logger: AdapterLogger;
  private closed = false;
  private readonly records: LevelRecords;

  private constructor(
    private readonly db: Database,
    options: LevelStoreOptions,
  ) {
    this.subscriptionsTtl = options.ttl?.subscriptions ?? DEFAULT_STORE_LIMITS.subscriptionsTtl;
    this.packetsTtl = options.ttl?.packets ?? DEFAULT_STORE_LIMITS.packetsTtl;
    this.maxQueued = options.maxQueuedMessages ?? DEFAULT_STORE_LIMITS.maxQueuedMessages;
    this.logger = options.logger ?? { info() {}, warn() {}, error() {} };
    this.records = new LevelRecords(db, (key, task) => this.exclusive(key, task));
  }

  /** Opens the database at `options.path` (creating it) and loads the in-memory indexes. */
  static async open(options: LevelStoreOptions): Promise<LevelStore> {
    const db = await openDatabase(options.path);
    const store = new LevelStore(db, options);
    try {
      await store.load();
    } catch (error) {
      await db.close();
      throw error;
    }
    return store;
  }

  private async load(): Promise<void> {
    for await (const value of this.db.values(spaceRange('retained'))) this.retained.set(retainedEntry(decodeMessage(value)));
    // Wills are deleted when their connection ends: any found now was left by a process that died.
    for await (const key of this.db.keys(spaceRange('wills'))) this.orphanedWills.add(key.slice(nameKey('wills', '').length));

    const now = Date.now();
    const fixes: Operation[] = [];
    for await (const [key, value] of this.db.iterator(spaceRange('sessions'))) {
      const clientId = key.slice(nameKey('sessions', '').length);
      const record = decodeSession(value);
      if (record.connected) {
        // The previous process died with this client connected: it went offline just now.
        record.connected = false;
        record.expiresAt = now + (record.expiryInterval ?? this.subscriptionsTtl);
        fixes.push(put(key, encodeSession(record)));
      }
      this.sessions.set(clientId, { ...record, subscriptions: new Map() });
    }
    for await (const [key, value] of this.db.iterator(spaceRange('subscriptions'))) {
      const { clientId, suffix: filter } = parseClientKey('subscriptions', key);
      const session = this.sessions.get(clientId);
      // Batches keep sessions and subscriptions together; an orphan means a foreign write, drop it.
      if (!session) {
        fixes.push(del(key));
        continue;
      }
      this.sessions.subscribe(clientId, session, [decodeSubscription(filter, value)]);
    }
    await this.write(fixes, false);

    // Sessions that expired while no broker ran would otherwise stay on disk until their client returns.
    const expired = await this.sweepExpired();
    this.logger.info(`level store: opened with ${[...this.sessions.entries()].length} durable sessions; ${fixes.length} were left connected by the previous process, ${expired} had expired`);
  }

  // Plumbing ---------------------------------------------------------------------------------

  private async write(ops: Operation[], sync: boolean): Promise<void> {
    if (ops.length > 0) await this.db.batch(ops, { sync });
  }

  private exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the level store is closed'));
    return this.locks.run(key, task);
  }

  private forClient<T>(clientId: string, task: () => Promise<T>): Promise<T> {
    return this.exclusive(`c\u0000${clientId}`, task);
  }

  private async keysIn(range: Range): Promise<string[]> {
    const keys: string[] = [];
    for await (const key of this.db.keys(range)) keys.push(key);
    return keys;
  }

  // Sessions ---------------------------------------------------------------------------------

  /** The live session of a client, forgetting it first when its TTL ran out. */
  private async live(clientId: string): Promise<SessionRecord | undefined> {
    const session = this.sessions.get(clientId);
    if (session && this.sessions.expired(session)) {
      await this.drop(clientId);
      return undefined;
    }
    return session;
  }

  /** The live session, or a new one together with the operation that stores it. */
  private async ensure(clientId: string): Promise<{ session: SessionRecord; ops: Operation[] }> {
    const existing = await this.live(clientId);
    if (existing) return { session: existing, ops: [] };
    const session: SessionRecord = { connected: false, expiresAt: Date.now() + this.subscriptionsTtl, subscriptions: new Map() };
    return { session, ops: [put(nameKey('sessions', clientId), encodeSession(session))] };
  }

  /** Deletes a session and everything filed under it, in one batch; the will is kept. */
  private async drop(clientId: string, extra: Operation[] = []): Promise<void> {
    const ops: Operation[] = [del(nameKey('sessions', clientId)), ...extra];
    for (const space of ['subscriptions', 'queue', 'queued', 'outgoing', 'incoming'] as const) {
      for (const key of await this.keysIn(clientRange(space, clientId))) ops.push(del(key));
    }
    await this.write(ops, false);
    this.sessions.delete(clientId);
    this.queues.delete(clientId);
    this.removedIds.delete(clientId);
    this.outgoing.delete(clientId);
  }

  async getSession(clientId: string): Promise<Subscription[] | null> {
    return this.forClient(clientId, async () => {
      const session = await this.live(clientId);
      if (!session) return null;
      return [...session.subscriptions.values()].map((subscription) => ({ ...subscription }));
    });
  }

  async createSession(clientId: string): Promise<void> {
    return this.forClient(clientId, async () => {
      const { session, ops } = await this.ensure(clientId);
      await this.write(ops, false);
      this.sessions.set(clientId, session);
    });
  }

  async addSubscriptions(clientId: string, subscriptions: readonly Subscription[]): Promise<void> {
    return this.forClient(clientId, async () => {
      const { session, ops } = await this.ensure(clientId);
      for (const subscription of subscriptions) ops.push(put(clientKey('subscriptions', clientId, subscription.topic), encodeSubscription(subscription)));
      await this.write(ops, true); // SUBACK follows
      this.sessions.set(clientId, session);
      this.sessions.subscribe(clientId, session, subscriptions);
    });
  }

  async removeSubscriptions(clientId: string, topics: readonly string[]): Promise<void> {
    return this.forClient(clientId, async () => {
      const session = await this.live(clientId);
      if (!session) return;
      const removed = topics.filter((topic) => session.subscriptions.has(topic));
      await this.write(
        removed.map((topic) => del(clientKey('subscriptions', clientId, topic))),
        true, // UNSUBACK follows
      );
      this.sessions.unsubscribe(clientId, session, removed);
    });
  }

  async subscriptionsByTopic(topic: string): Promise<ClientSubscription[]> {
    // Memory only: this runs for every PUBLISH, and the index mirrors the disk after each batch.
    return this.sessions.match(topic);
  }

  async setConnected(clientId: string, connected: boolean, expiryInterval?: number): Promise<void> {
    return this.forClient(clientId, async () => {
      const session = await this.live(clientId);
      if (!session) return;
      const interval = expiryInterval ?? session.expiryInterval;
      const expiresAt = Date.now() + (interval ?? this.subscriptionsTtl);
      // Not synced: after a crash a session stored as connected is treated as just disconnected.
      await this.write([put(nameKey('sessions', clientId), encodeSession({ connected, expiresAt, expiryInterval: interval }))], false);
      session.connected = connected;
      session.expiresAt = expiresAt;
      session.expiryInterval = interval;
    });
  }

  async deleteSession(clientId: string): Promise<void> {
    this.orphanedWills.delete(clientId);
    return this.forClient(clientId, async () => {
      await this.drop(clientId, [del(nameKey('wills', clientId))]);
    });
  }

  async sweepExpired(): Promise<number> {
    let swept = 0;
    for (const [clientId, candidate] of [...this.sessions.entries()]) {
      if (!this.sessions.expired(candidate)) continue;
      // Checked again under the client's lock: it may have reconnected meanwhile.
      const dropped = await this.forClient(clientId, async () => {
        const session = this.sessions.get(clientId);
        if (!session || !this.sessions.expired(session)) return false;
        await this.drop(clientId);
        return true;
      });
      if (dropped) swept++;
    }
    await this.removeExpiredRetained(this.retained.expiredTopics());
    return swept;
  }

  // Offline queue ----------------------------------------------------------------------------

  private async queueState(clientId: string): Promise<QueueState> {
    let state = this.queues.get(clientId);
    if (!state) {
      const range = clientRange('queue', clientId);
      const seqOf = (key: string): number => Number(parseClientKey('queue', key).suffix);
      state = { first: 0, next: 0 };
      for await (const key of this.db.keys({ ...range, limit: 1 })) state.first = seqOf(key);
      for await (const key of this.db.keys({ ...range, limit: 1, reverse: true })) state.next = seqOf(key) + 1;
      this.queues.set(clientId, state);
    }
    return state;
  }

  /** The key recording that the queue holds `messageId` (the idempotent enqueue); none without an id. */
  private queuedKey(clientId: string, messageId: string): string | null {
    return messageId === '' ? null : clientKey('queued', clientId, messageId);
  }

  /** Deletes queue entries with their id records; `entries` are queue keys with their message ids. */
  private dequeueOps(clientId: string, entries: { key: string; messageId: string }[]): Operation[] {
    const ops: Operation[] = [];
    for (const { key, messageId } of entries) {
      ops.push(del(key));
      const queued = this.queuedKey(clientId, messageId);
      if (queued) ops.push(del(queued));
    }
    return ops;
  }

  async enqueue(clientId: string, message: Message): Promise<EnqueueResult> {
    return this.forClient(clientId, async () => {
      const session = await this.live(clientId);
      if (!session) return { connected: false, dropped: 0 };
      const queued = this.queuedKey(clientId, message.id);
      // Held already, or taken lately: enqueue is idempotent.
      if (queued && (this.removedIds.get(clientId)?.has(message.id) || (await this.db.has(queued)))) return { connected: false, dropped: 0 };
      const queue = await this.queueState(clientId);
      const ops = [put(clientKey('queue', clientId, sequence(queue.next)), encodeQueueEntry({ expiresAt: Date.now() + this.packetsTtl, message }))];
      if (queued) ops.push(put(queued, Buffer.alloc(0)));
      const next = queue.next + 1;
      let first = queue.first;
      // Drop the oldest in the same batch, so the bound holds even across a crash.
      const dropped: string[] = [];
      for (; next - first > this.maxQueued; first++) dropped.push(clientKey('queue', clientId, sequence(first)));
      if (dropped.length > 0) {
        const values = await this.db.getMany(dropped);
        const entries = dropped.map((key, i) => ({ key, messageId: values[i] ? decodeQueueEntry(values[i]!).message.id : '' }));
        ops.push(...this.dequeueOps(clientId, entries));
      }
      await this.write(ops, message.qos > 0); // the publisher's PUBACK/PUBREC follows
      queue.first = first;
      queue.next = next;
      return { connected: session.connected, dropped: dropped.length };
    });
  }

  async peekQueue(clientId: string, limit: number): Promise<QueuedMessage[]> {
    return this.forClient(clientId, async () => {
      if (!(await this.live(clientId))) return [];
      const now = Date.now();
      const found: QueuedMessage[] = [];
      const expired: { key: string; messageId: string }[] = [];
      for await (const [key, value] of this.db.iterator(clientRange('queue', clientId))) {
        const { expiresAt, message } = decodeQueueEntry(value);
        if (expiresAt <= now) expired.push({ key, messageId: message.id });
        else found.push({ id: queuedId(parseClientKey('queue', key).suffix, message.id), message });
        if (found.length >= limit) break;
      }
      if (expired.length > 0) {
        await this.write(this.dequeueOps(clientId, expired), false);
        await this.resetQueueHead(clientId);
      }
      return found;
    });
  }

  async removeQueued(clientId: string, ids: readonly string[]): Promise<void> {
    return this.forClient(clientId, async () => {
      if (ids.length === 0 || !(await this.live(clientId))) return;
      const entries = ids.map((id) => {
        const { seq, messageId } = parseQueuedId(id);
        return { key: clientKey('queue', clientId, seq), messageId };
      });
      // Not synced: a removal lost in a crash re-sends the message (at least once), never loses it.
      await this.write(this.dequeueOps(clientId, entries), false);
      let recent = this.removedIds.get(clientId);
      if (!recent) this.removedIds.set(clientId, (recent = new RemovedIds(DEFAULT_STORE_LIMITS.removedIdsKept, this.packetsTtl)));
      for (const { messageId } of entries) recent.add(messageId);
      await this.resetQueueHead(clientId);
    });
  }

  /** After removals the queue's first key is the oldest one left (or none: first = next). */
  private async resetQueueHead(clientId: string): Promise<void> {
    const queue = await this.queueState(clientId);
    queue.first = queue.next;
    for await (const key of this.db.keys({ ...clientRange('queue', clientId), limit: 1 })) {
      queue.first = Number(parseClientKey('queue', key).suffix);
    }
  }

  // Outgoing in-flight packets ---------------------------------------------------------------

  private async outgoingState(clientId: string): Promise<OutgoingState> {
    let state = this.outgoing.get(clientId);
    if (!state) {
      state = { next: 0, byId: new Map() };
      for await (const [key, value] of this.db.iterator(clientRange('outgoing', clientId))) {
        const seq = Number(parseClientKey('outgoing', key).suffix);
        const { messageId, expiresAt } = peekOutgoingHead(value);
        state.byId.set(messageId, { seq, expiresAt });
        state.next = seq + 1;
      }
      this.outgoing.set(clientId, state);
    }
    return state;
  }

  async putOutgoing(clientId: string, packet: OutgoingPacket): Promise<void> {
    return this.forClient(clientId, async () => {
      const { session, ops } = await this.ensure(clientId);
      const state = await this.outgoingState(clientId);
      const previous = state.byId.get(packet.messageId);
      const place = previous ?? { seq: state.next, expiresAt: Date.now() + this.packetsTtl };
      ops.push(put(clientKey('outgoing', clientId, sequence(place.seq)), encodeOutgoingEntry({ expiresAt: place.expiresAt, packet })));
      await this.write(ops, true); // the packet goes out next; a restart must re-send it
      this.sessions.set(clientId, session);
      state.byId.set(packet.messageId, place);
      if (!previous) state.next++;
    });
  }

  async removeOutgoing(clientId: string, messageId: number): Promise<void> {
    return this.forClient(clientId, async () => {
      if (!(await this.live(clientId))) return;
      const state = await this.outgoingState(clientId);
      const place = state.byId.get(messageId);
      if (!place) return;
      // Not synced: losing it re-sends an acknowledged packet, which QoS 1/2 tolerate (DUP).
      await this.write([del(clientKey('outgoing', clientId, sequence(place.seq)))], false);
      state.byId.delete(messageId);
    });
  }

  async getOutgoing(clientId: string): Promise<OutgoingPacket[]> {
    return this.forClient(clientId, async () => {
      if (!(await this.live(clientId))) return [];
      const state = await this.outgoingState(clientId);
      const now = Date.now();
      const packets: OutgoingPacket[] = [];
      const expired: Operation[] = [];
      for await (const [key, value] of this.db.iterator(clientRange('outgoing', clientId))) {
        const entry = decodeOutgoingEntry(value);
        if (entry.expiresAt > now) packets.push(entry.packet);
        else {
          expired.push(del(key));
          state.byId.delete(entry.packet.messageId);
        }
      }
      await this.write(expired, false);
      return packets;
    });
  }

  // Incoming QoS 2 ids -----------------------------------------------------------------------

  async putIncoming(clientId: string, messageId: number): Promise<boolean> {
    return this.forClient(clientId, async () => {
      const { session, ops } = await this.ensure(clientId);
      const key = clientKey('incoming', clientId, messageIdSuffix(messageId));
      if (ops.length === 0 && (await this.db.has(key))) return false;
      ops.push(put(key, Buffer.alloc(0)));
      await this.write(ops, true); // PUBREC follows
      this.sessions.set(clientId, session);
      return true;
    });
  }

  async removeIncoming(clientId: string, messageId: number): Promise<void> {
    return this.forClient(clientId, async () => {
      if (!(await this.live(clientId))) return;
      await this.write([del(clientKey('incoming', clientId, messageIdSuffix(messageId)))], false);
    });
  }

  // Retained messages ------------------------------------------------------------------------

  async storeRetained(message: Message, maxCount = Infinity): Promise<boolean> {
    return this.exclusive(`r\u0000${message.topic}`, async () => {
      const creates = message.payload.length > 0 && !this.retained.has(message.topic);
      // Checked and reserved in one synchronous step: writes of other new topics may be in progress.
      if (creates && this.retained.size + this.retainedBeingCreated >= maxCount) return false;
      if (creates) this.retainedBeingCreated++;
      const key = nameKey('retained', message.topic);
      const op = message.payload.length === 0 ? del(key) : put(key, encodeMessage(message));
      try {
        await this.write([op], message.qos > 0); // a QoS>0 publisher's acknowledgement follows
        if (message.payload.length === 0) this.retained.remove(message.topic);
        else this.retained.set(retainedEntry(message));
      } finally {
        if (creates) this.retainedBeingCreated--;
      }
      return true;
    });
  }

  async countRetained(): Promise<number> {
    return this.retained.size;
  }

  async countOfflineSessions(): Promise<number> {
    return this.sessions.countOffline();
  }

  /** The database is open: there is no server to be away. */
  async ping(): Promise<void> {
    if (this.closed) throw new Error('the level store is closed');
  }

  async *retainedPages(filters: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined> {
    for await (const entries of pagesOf(this.retained.cursor(filters), pageSize, (topics) => this.removeExpiredRetained(topics))) {
      const messages = await this.readRetained(entries);
      if (messages.length > 0) yield messages;
    }
  }

  mayHaveRetained(filters: readonly string[]): boolean {
    return this.retained.mayMatch(filters);
  }

  async matchRetained(filters: readonly string[]): Promise<Message[]> {
    const { entries, expired } = this.retained.matchLive(filters);
    if (expired.length > 0) await this.removeExpiredRetained(expired);
    return this.readRetained(entries);
  }

  /** The retained messages of `entries` as on disk now: one deleted since the index was read is left out. */
  private async readRetained(entries: readonly RetainedEntry[]): Promise<Message[]> {
    const values = await this.db.getMany(entries.map(({ topic }) => nameKey('retained', topic)));
    const messages: Message[] = [];
    for (const value of values) if (value !== undefined) messages.push(decodeMessage(value));
    return messages;
  }

  /** Deletes the retained messages of `topics` that are still expired, each under its topic's lock. */
  private async removeExpiredRetained(topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      await this.exclusive(`r\u0000${topic}`, async () => {
        // A newer message may have replaced it meanwhile.
        if (!this.retained.isExpired(topic)) return;
        await this.write([del(nameKey('retained', topic))], false);
        this.retained.remove(topic);
      });
    }
  }

  // Wills ------------------------------------------------------------------------------------

  async putWill(clientId: string, will: Will): Promise<void> {
    this.orphanedWills.delete(clientId);
    return this.forClient(clientId, () => this.write([put(nameKey('wills', clientId), encodeMessage(will))], false));
  }

  async getWill(clientId: string): Promise<Will | null> {
    return this.forClient(clientId, async () => {
      const value = await this.db.get(nameKey('wills', clientId));
      return value === undefined ? null : decodeMessage(value);
    });
  }

  async deleteWill(clientId: string): Promise<void> {
    this.orphanedWills.delete(clientId);
    return this.forClient(clientId, () => this.write([del(nameKey('wills', clientId))], false));
  }

  async claimOrphanedWills(): Promise<{ clientId: string; will: Will }[]> {
    const claimed: { clientId: string; will: Will }[] = [];
    for (const clientId of [...this.orphanedWills]) {
      this.orphanedWills.delete(clientId);
      const will = await this.forClient(clientId, async () => {
        const key = nameKey('wills', clientId);
        const value = await this.db.get(key);
        if (value === undefined) return null;
        await this.write([del(key)], true); // published next: a second restart must not publish it again
        return decodeMessage(value);
      });
      if (will) claimed.push({ clientId, will });
    }
    return claimed;
  }

  putRecord(collection: string, key: string, value: Buffer, expiresAt?: number): Promise<void> {
    return this.records.put(collection, key, value, expiresAt);
  }

  getRecord(collection: string, key: string): Promise<Buffer | null> {
    return this.records.get(collection, key);
  }

  deleteRecords(collection: string, keys: readonly string[]): Promise<number> {
    return this.records.delete(collection, keys);
  }

  listRecords(collection: string, page?: RecordPage): Promise<StoredRecord[]> {
    return this.records.list(collection, page);
  }

  /** Waits for the calls in progress, then closes the database (releasing its lock). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.locks.idle();
    await this.db.close();
    this.retained.clear();
    this.sessions.clear();
    this.queues.clear();
    this.removedIds.clear();
    this.outgoing.clear();
  }
}

/** What the retained index keeps of a message: where it is, and when it expires. */
function retainedEntry({ topic, expiresAt }: Message): RetainedEntry {
  return expiresAt === undefined ? { topic } : { topic, expiresAt };
}
