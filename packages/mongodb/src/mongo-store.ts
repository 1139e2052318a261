import { randomBytes } from 'node:crypto';
import { ObjectId, type Collection, type Document } from 'mongodb';
import { checkRecordName, DEFAULT_RECORD_PAGE, DEFAULT_STORE_LIMITS, topicMatches, unpackSubscription, unref, type RecordPage, type StoredRecord, type ClientSubscription, type Message, type OutgoingPacket, type QueuedMessage, type Store, type Subscription, type Will, type EnqueueResult } from '@skynet-mqtt/core';
import { ClosedError, isDuplicateKey, MongoConnection } from './connection.js';
import { contentFromDocument, fromBinary, messageDocument, messageFromDocument, outgoingFromDocument, toBinary, type OutgoingDocument, type RecordDocument } from './documents.js';
import { resolveStoreOptions, type MongoStoreOptions, type ResolvedStoreOptions } from './options.js';
import * as Q from './queries.js';

/** A session document (see queries.ts): everything that must change atomically, in one place. */
interface SessionDocument {
  _id: string;
  gen: string;
  subs: Q.SubscriptionEntry[];
  conn: string | null;
  expiresAt: Date | null;
  /** The session's own expiry interval in ms (MQTT 5), if it gave one. */
  exp?: number | null;
  inc: { i: number; t: string }[];
  seq: number;
}

/**
 * Liveness of a Store instance, as in the Redis Store: its `instances` document expires
 * LIVENESS_TTL ms ahead and is renewed every LIVENESS_INTERVAL ms; a session connected through an
 * instance whose document has expired counts as disconnected, so a crashed broker's sessions get
 * their messages queued again.
 */
export const LIVENESS_TTL = 15_000;
export const LIVENESS_INTERVAL = 5_000;

/** Documents keyed by a string: the topic (retained), the client id (wills), the instance id. */
type Keyed = Document & { _id: string };

const newGeneration = (): string => randomBytes(8).toString('hex');
/** Sessions looked at per round of sweepExpired. */
const SWEEP_BATCH = 500;
/** Retained documents read per query by matchRetained. */
const RETAINED_PAGE = 1_000;
const OBJECT_ID = /^[0-9a-f]{24}$/;

/**
 * The Store on MongoDB, shared by every broker instance using the same database and prefix.
 * Collections, indexes and what is atomic: docs/backends/mongodb.md and queries.ts.
 */
export class MongoStore implements Store {
  private readonly options: ResolvedStoreOptions;
  private readonly connection: MongoConnection;
  private readonly sessions: Collection<SessionDocument>;
  private readonly retained: Collection<Keyed>;
  /** New retained topics admitted under maxCount one at a time (count, then insert). */
  private retainedAdmissions: Promise<boolean> = Promise.resolve(true);
  private readonly queue: Collection<Document>;
  private readonly removed: Collection<Document>;
  private readonly outgoing: Collection<Document>;
  private readonly wills: Collection<Keyed>;
  private readonly instances: Collection<Keyed>;
  private readonly records: Collection<RecordDocument>;
  /** Recorded as the `conn` of the sessions connected through this instance. */
  readonly instanceId = randomBytes(9).toString('base64url');
  /** Indexes created (once, waiting for MongoDB if needed); every call waits for it. */
  private readonly ready: Promise<void>;
  private readonly heartbeat: NodeJS.Timeout;
  private renewing = false;
  private closing: Promise<void> | null = null;

  constructor(options: MongoStoreOptions | Record<string, unknown> = {}) {
    this.options = resolveStoreOptions(options);
    const { url, database, driver, logger, prefix } = this.options;
    this.connection = new MongoConnection(url, database, driver, `MongoDB store (${database}, ${prefix})`, logger);
    const names = Q.collectionNames(prefix);
    const db = this.connection.db;
    this.sessions = db.collection<SessionDocument>(names.sessions);
    this.retained = db.collection<Keyed>(names.retained);
    this.queue = db.collection(names.queue);
    this.removed = db.collection(names.removed);
    this.outgoing = db.collection(names.outgoing);
    this.wills = db.collection<Keyed>(names.wills);
    this.instances = db.collection<Keyed>(names.instances);
    this.records = db.collection<RecordDocument>(names.records);
    this.ready = this.connection.run(() => this.createIndexes());
    this.ready.catch((error: unknown) => {
      if (!(error instanceof ClosedError)) logger.error(`MongoDB store: could not create its indexes: ${String(error)}`);
    });
    this.renewLiveness();
    // unref: a running Store must not keep the process alive on its own.
    this.heartbeat = unref(setInterval(() => this.renewLiveness(), LIVENESS_INTERVAL));
  }

  private async createIndexes(): Promise<void> {
    await Promise.all([
      this.sessions.createIndexes(Q.STORE_INDEXES.sessions),
      this.queue.createIndexes(Q.STORE_INDEXES.queue),
      this.removed.createIndexes(Q.STORE_INDEXES.removed),
      this.outgoing.createIndexes(Q.STORE_INDEXES.outgoing),
      this.instances.createIndexes(Q.STORE_INDEXES.instances),
      this.records.createIndexes(Q.STORE_INDEXES.records),
    ]);
  }

  /** Every call: once the indexes exist, through the retry loop. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    await this.ready;
    return this.connection.run(fn);
  }

  private renewLiveness(): void {
    if (this.renewing || this.connection.isClosed) return;
    this.renewing = true;
    this.instances
      .updateOne({ _id: this.instanceId }, { $set: { expiresAt: Q.expiry(Date.now(), LIVENESS_TTL) } }, { upsert: true })
      .catch((error: unknown) => {
        if (!this.connection.isClosed) this.options.logger.error(`MongoDB store: could not renew its liveness document: ${String(error)}`);
      })
      .finally(() => (this.renewing = false));
  }

  // Retained --------------------------------------------------------------------------------

  /**
   * With `maxCount`, a new topic is admitted after a count of the collection. The count and the
   * insert are not one atomic step in MongoDB: they are serialised within this instance, so one
   * broker never exceeds `maxCount`; instances inserting new topics at the same moment may exceed it
   * by as many (docs/backends/mongodb.md).
   */
  async storeRetained(message: Message, maxCount?: number): Promise<boolean> {
    if (message.payload.length === 0) {
      await this.call(() => this.retained.deleteOne({ _id: message.topic }));
      return true;
    }
    const doc = messageDocument(message);
    if (maxCount === undefined || maxCount === Infinity) {
      await this.call(() => this.retained.replaceOne({ _id: message.topic }, doc, { upsert: true }));
      return true;
    }
    const admit = async (): Promise<boolean> => {
      // Replacing a topic's message never needs room.
      const replaced = await this.call(() => this.retained.replaceOne({ _id: message.topic }, doc));
      if (replaced.matchedCount > 0) return true;
      if ((await this.countRetained()) >= maxCount) return false;
      await this.call(() => this.retained.replaceOne({ _id: message.topic }, doc, { upsert: true }));
      return true;
    };
    const result = this.retainedAdmissions.then(admit, admit);
    this.retainedAdmissions = result.catch(() => false);
    return result;
  }

  async countRetained(): Promise<number> {
    return this.call(() => this.retained.countDocuments({}));
  }

  ping(): Promise<void> {
    return this.connection.ping();
  }

  async matchRetained(filters: readonly string[]): Promise<Message[]> {
    const found: Message[] = [];
    for await (const page of this.retainedPages(filters, RETAINED_PAGE)) for (const message of page) found.push(message);
    return found;
  }

  /** Read in topic order, each page after the last topic of the one before (retainedPageSelector). */
  async *retainedPages(filters: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined> {
    if (filters.length === 0) return;
    let after: string | undefined;
    for (;;) {
      const selector = Q.retainedPageSelector(filters, after);
      const docs = await this.call(() => this.retained.find(selector).sort({ _id: 1 }).limit(pageSize).toArray());
      if (docs.length === 0) return;
      after = docs[docs.length - 1]!._id;
      const found: Message[] = [];
      const expired: string[] = [];
      const now = Date.now();
      for (const doc of docs) {
        const message = messageFromDocument(doc);
        if (!filters.some((filter) => topicMatches(filter, message.topic))) continue;
        if (Q.retainedExpired(doc, now)) expired.push(message.topic);
        else found.push(message);
      }
      if (expired.length > 0) await this.call(() => this.retained.deleteMany(Q.expiredRetainedSelector(now, expired)));
      if (found.length > 0) yield found;
      if (docs.length < pageSize) return;
    }
  }

  // Sessions and subscriptions ----------------------------------------------------------------

  /** The live session document, or null. */
  private live(clientId: string, projection: Document): Promise<SessionDocument | null> {
    return this.call(() => this.sessions.findOne({ _id: clientId, ...Q.notExpired(Date.now()) }, { projection }));
  }

  /** Makes the session live (creating it if needed), applies `stages`, returns the result. */
  private ensure(clientId: string, stages: Document[], projection: Document): Promise<SessionDocument | null> {
    const generation = newGeneration();
    const upsert = (): Promise<SessionDocument | null> =>
      this.sessions.findOneAndUpdate({ _id: clientId }, [...Q.ensureSessionStages(Date.now(), this.options.ttl.subscriptions, generation), ...stages], {
        upsert: true,
        returnDocument: 'after',
        projection,
      });
    // Two upserts of a missing session race to insert it: the loser finds it on its next try.
    return this.call(() => upsert().catch((error: unknown) => (isDuplicateKey(error) ? upsert() : Promise.reject(error))));
  }

  /**
   * A session still marked connected through an instance that is gone (its liveness document
   * expired: a crashed or stopped broker) is offline from now on, for its own interval, as after
   * a LevelDB restart.
   */
  async getSession(clientId: string): Promise<Subscription[] | null> {
    const session = await this.live(clientId, { subs: 1, conn: 1 });
    if (!session) return null;
    if (session.conn !== null && session.conn !== this.instanceId && !(await this.alive([session.conn])).has(session.conn)) {
      const stage = Q.offlineSince(Date.now(), this.options.ttl.subscriptions);
      await this.call(() => this.sessions.updateOne({ _id: clientId, conn: session.conn }, [stage]));
    }
    return session.subs.map((s) => unpackSubscription(s.t, s.q));
  }

  /** Which of `owners` (Store instance ids) are running: their liveness document has not expired. */
  private async alive(owners: readonly string[]): Promise<Set<string>> {
    const alive = new Set<string>();
    if (owners.length === 0) return alive;
    const live = await this.call(() => this.instances.find({ _id: { $in: [...owners] }, expiresAt: { $gt: new Date() } }, { projection: { _id: 1 } }).toArray());
    for (const doc of live) alive.add(String(doc._id));
    return alive;
  }

  async createSession(clientId: string): Promise<void> {
    await this.ensure(clientId, [], { _id: 1 });
  }

  async addSubscriptions(clientId: string, subscriptions: readonly Subscription[]): Promise<void> {
    await this.ensure(clientId, [Q.addSubscriptionsStage(subscriptions)], { _id: 1 });
  }

  async removeSubscriptions(clientId: string, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.call(() => this.sessions.updateOne({ _id: clientId, ...Q.notExpired(Date.now()) }, { $pull: { subs: { t: { $in: [...topics] } } } }));
  }

  async subscriptionsByTopic(topic: string): Promise<ClientSubscription[]> {
    const now = Date.now();
    const sessions = await this.call(() =>
      this.sessions.find({ 'subs.l': { $in: Q.topicLookupKeys(topic) }, ...Q.notExpired(now) }, { projection: { subs: 1, conn: 1 } }).toArray(),
    );
    const alive = await this.alive([...new Set(sessions.flatMap((s) => (s.conn ? [s.conn] : [])))]);
    const found: ClientSubscription[] = [];
    for (const session of sessions) {
      const connected = session.conn !== null && alive.has(session.conn);
      for (const s of session.subs) {
        if (Q.subscriptionMatches(s.t, topic)) found.push({ ...unpackSubscription(s.t, s.q), clientId: session._id, connected });
      }
    }
    return found;
  }

  /**
   * Connected: the session's `conn` is this instance, alive as long as we are; no expiry
   * meanwhile. Disconnected: only if the mark is ours (or none): a session connected again
   * through another instance since stays connected.
   */
  async setConnected(clientId: string, connected: boolean, expiryInterval?: number): Promise<void> {
    const now = Date.now();
    const interval = expiryInterval === undefined ? undefined : Math.max(1, Math.round(expiryInterval));
    const stages = Q.setConnectedStages(connected ? this.instanceId : null, interval, now, this.options.ttl.subscriptions);
    const ours = connected ? {} : { conn: { $in: [this.instanceId, null] } };
    await this.call(() => this.sessions.updateOne({ _id: clientId, ...ours, ...Q.notExpired(now) }, stages));
  }

  /**
   * Deleting the session document is the atomic step: from then on its generation's queued and
   * in-flight packets are never read. They are removed right after (or by their TTL, if this
   * process dies in between).
   */
  async deleteSession(clientId: string): Promise<void> {
    const deleted = await this.call(() => this.sessions.findOneAndDelete({ _id: clientId }, { projection: { gen: 1 } }));
    if (deleted) {
      await this.call(() => this.queue.deleteMany({ c: clientId, g: deleted.gen }));
      await this.call(() => this.removed.deleteMany({ c: clientId, g: deleted.gen }));
      await this.call(() => this.outgoing.deleteMany({ c: clientId, g: deleted.gen }));
    }
    await this.call(() => this.wills.deleteOne({ _id: clientId }));
  }

  /**
   * MongoDB's TTL monitor removes expired session documents about once a minute; this removes
   * those due now, one by one as deleteSession does (only if still expired: a reconnect renews
   * it), with their generation's queued and in-flight packets. Counts what it removed.
   */
  async sweepExpired(): Promise<number> {
    let swept = 0;
    for (;;) {
      const now = new Date();
      const due = { expiresAt: { $ne: null, $lte: now } };
      const expired = await this.call(() => this.sessions.find(due, { projection: { gen: 1 } }).limit(SWEEP_BATCH).toArray());
      for (const { _id, gen } of expired) {
        const deleted = await this.call(() => this.sessions.findOneAndDelete({ _id, gen, ...due }, { projection: { gen: 1 } }));
        if (!deleted) continue;
        swept++;
        for (const packets of [this.queue, this.removed, this.outgoing]) await this.call(() => packets.deleteMany({ c: _id, g: gen }));
      }
      if (expired.length < SWEEP_BATCH) break;
    }
    await this.call(() => this.retained.deleteMany(Q.expiredRetainedSelector(Date.now())));
    return swept;
  }

  // Offline queue -----------------------------------------------------------------------------

  /**
   * Takes the next number of a live session (none: nothing queued, as in memory), then inserts
   * the entry unless its message id is queued already (a unique index: atomic, parallel calls
   * included) or was taken from the queue lately (`removed`), then trims the queue to
   * `maxQueuedMessages`, oldest first. The entry's `_id` is made here: an insert made again after
   * a lost reply finds its own entry and counts as done. `connected` when queued for a session
   * that is marked connected (its connection must read its queue); `dropped`, what the trim removed.
   */
  async enqueue(clientId: string, message: Message): Promise<EnqueueResult> {
    const nothing: EnqueueResult = { connected: false, dropped: 0 };
    const doc = messageDocument(message);
    const session = await this.call(() =>
      this.sessions.findOneAndUpdate({ _id: clientId, ...Q.notExpired(Date.now()) }, { $inc: { seq: 1 } }, { returnDocument: 'after', projection: { gen: 1, seq: 1, conn: 1 } }),
    );
    if (!session) return nothing;
    const scope = { c: clientId, g: session.gen };
    if (message.id !== '') {
      const removed = await this.call(() => this.removed.findOne({ ...scope, id: message.id, expiresAt: { $gt: new Date() } }, { projection: { _id: 1 } }));
      if (removed) return nothing;
    }
    const entry = { _id: new ObjectId(), ...scope, s: session.seq, id: message.id, m: doc, expiresAt: Q.expiry(Date.now(), this.options.ttl.packets) };
    if (!(await this.call(() => this.insertQueued(entry)))) return nothing;
    const oldestKept = await this.call(() => this.queue.find(scope, { projection: { s: 1 } }).sort({ s: -1 }).skip(this.options.maxQueuedMessages - 1).limit(1).toArray());
    const boundary = oldestKept[0]?.s as number | undefined;
    let dropped = 0;
    if (boundary !== undefined) dropped = (await this.call(() => this.queue.deleteMany({ ...scope, s: { $lt: boundary } }))).deletedCount;
    return { connected: session.conn !== null, dropped };
  }

  /** Inserts a queue entry; false when an entry of the same message id is queued and live. */
  private async insertQueued(entry: Document & { _id: ObjectId }): Promise<boolean> {
    try {
      await this.queue.insertOne(entry);
      return true;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const held = await this.queue.findOne({ c: entry.c, g: entry.g, id: entry.id });
    if (!held) return this.insertQueued(entry); // removed meanwhile
    if ((held._id as ObjectId).equals(entry._id)) return true; // our own insert, its reply lost
    if ((held.expiresAt as Date).getTime() > Date.now()) return false;
    // An expired entry the TTL monitor has not removed yet is forgotten: this one takes its place.
    await this.queue.deleteOne({ _id: held._id });
    return this.insertQueued(entry);
  }

  async peekQueue(clientId: string, limit: number): Promise<QueuedMessage[]> {
    const session = await this.live(clientId, { gen: 1 });
    if (!session || limit <= 0) return [];
    const now = new Date();
    const docs = await this.call(() =>
      this.queue.find({ c: clientId, g: session.gen, expiresAt: { $gt: now } }).sort({ s: 1 }).limit(limit).toArray(),
    );
    return docs.map((doc) => ({ id: (doc._id as ObjectId).toHexString(), message: messageFromDocument(doc.m as Document) }));
  }

  /**
   * Records the ids of the messages taken (enqueue refuses them for ttl.packets, the last
   * `removedIdsKept` per client), then deletes the entries: a crash in between leaves an entry
   * queued whose id is refused again, so it is delivered once.
   */
  async removeQueued(clientId: string, ids: readonly string[]): Promise<void> {
    const valid = ids.filter((id) => OBJECT_ID.test(id)).map((id) => new ObjectId(id));
    if (valid.length === 0) return;
    const taken = await this.call(() => this.queue.find({ c: clientId, _id: { $in: valid } }, { projection: { g: 1, id: 1 } }).toArray());
    const expiresAt = Q.expiry(Date.now(), this.options.ttl.packets);
    const remembered = taken.filter((doc) => typeof doc.id === 'string' && doc.id !== '');
    if (remembered.length > 0) {
      const writes = remembered.map((doc) => ({ updateOne: { filter: { c: clientId, g: doc.g, id: doc.id }, update: { $set: { expiresAt } }, upsert: true } }));
      // Two instances recording one id at once: the loser's upsert finds the key taken, which is the same.
      await this.call(() => this.removed.bulkWrite(writes, { ordered: false }).catch((error: unknown) => (isDuplicateKey(error) ? undefined : Promise.reject(error))));
    }
    await this.call(() => this.queue.deleteMany({ c: clientId, _id: { $in: valid } }));
    for (const generation of new Set(remembered.map((doc) => doc.g as string))) {
      const scope = { c: clientId, g: generation };
      const oldestKept = await this.call(() => this.removed.find(scope, { projection: { expiresAt: 1 } }).sort({ expiresAt: -1 }).skip(DEFAULT_STORE_LIMITS.removedIdsKept - 1).limit(1).toArray());
      const boundary = oldestKept[0]?.expiresAt as Date | undefined;
      if (boundary !== undefined) await this.call(() => this.removed.deleteMany({ ...scope, expiresAt: { $lt: boundary } }));
    }
  }

  // In-flight ---------------------------------------------------------------------------------

  async putOutgoing(clientId: string, packet: OutgoingPacket): Promise<void> {
    const doc = messageDocument(packet);
    const session = await this.ensure(clientId, [Q.NEXT_SEQ_STAGE], { gen: 1, seq: 1 });
    if (!session) throw new Error(`MongoDB store: no session document for ${clientId} after an upsert`);
    const stages = Q.putOutgoingStages(doc, packet.released === true, session.seq, Date.now(), this.options.ttl.packets);
    await this.call(() => this.outgoing.updateOne({ c: clientId, g: session.gen, mid: packet.messageId }, stages, { upsert: true }));
  }

  async removeOutgoing(clientId: string, messageId: number): Promise<void> {
    await this.call(() => this.outgoing.deleteMany({ c: clientId, mid: messageId }));
  }

  async getOutgoing(clientId: string): Promise<OutgoingPacket[]> {
    const session = await this.live(clientId, { gen: 1 });
    if (!session) return [];
    const now = new Date();
    const docs = await this.call(() => this.outgoing.find({ c: clientId, g: session.gen, expiresAt: { $gt: now } }).sort({ o: 1 }).toArray());
    return docs.map((doc) => outgoingFromDocument(doc as unknown as OutgoingDocument));
  }

  async putIncoming(clientId: string, messageId: number): Promise<boolean> {
    const token = newGeneration();
    const session = await this.ensure(clientId, [Q.putIncomingStage(messageId, token)], { inc: 1 });
    return session?.inc.find((entry) => entry.i === messageId)?.t === token;
  }

  async removeIncoming(clientId: string, messageId: number): Promise<void> {
    await this.call(() => this.sessions.updateOne({ _id: clientId }, { $pull: { inc: { i: messageId } } }));
  }

  // Wills -------------------------------------------------------------------------------------

  /** Filed under this Store instance (`owner`), so that the wills of one that is gone can be claimed. */
  async putWill(clientId: string, will: Will): Promise<void> {
    const doc = { ...messageDocument(will), owner: this.instanceId };
    await this.call(() => this.wills.replaceOne({ _id: clientId }, doc, { upsert: true }));
  }

  async getWill(clientId: string): Promise<Will | null> {
    const doc = await this.call(() => this.wills.findOne({ _id: clientId }));
    return doc ? contentFromDocument(doc) : null;
  }

  async deleteWill(clientId: string): Promise<void> {
    await this.call(() => this.wills.deleteOne({ _id: clientId }));
  }

  /** The wills of Store instances whose liveness document expired, each taken by one findOneAndDelete. */
  async claimOrphanedWills(): Promise<{ clientId: string; will: Will }[]> {
    const owners = (await this.call(() => this.wills.distinct('owner'))).filter((owner): owner is string => typeof owner === 'string');
    const alive = await this.alive(owners);
    const gone = owners.filter((owner) => !alive.has(owner));
    if (gone.length === 0) return [];
    const orphans = await this.call(() => this.wills.find({ owner: { $in: gone } }, { projection: { _id: 1, owner: 1 } }).toArray());
    const claimed: { clientId: string; will: Will }[] = [];
    for (const { _id, owner } of orphans) {
      const doc = await this.call(() => this.wills.findOneAndDelete({ _id, owner }));
      if (doc) claimed.push({ clientId: _id, will: contentFromDocument(doc) });
    }
    return claimed;
  }

  // Records ----------------------------------------------------------------------------------

  /** One document per record, replaced whole: one atomic write. */
  async putRecord(collection: string, key: string, value: Buffer, expiresAt?: number): Promise<void> {
    checkRecordName(collection, key);
    const update = { value: toBinary(value), expiresAt: expiresAt === undefined ? null : new Date(expiresAt) };
    const upsert = (): Promise<unknown> => this.records.updateOne({ col: collection, key }, { $set: update }, { upsert: true });
    // Two upserts of a missing record race to insert it: the loser replaces it on its next try.
    await this.call(() => upsert().catch((error: unknown) => (isDuplicateKey(error) ? upsert() : Promise.reject(error))));
  }

  async getRecord(collection: string, key: string): Promise<Buffer | null> {
    checkRecordName(collection, key);
    const doc = await this.call(() => this.records.findOne({ col: collection, key, ...Q.notExpired(Date.now()) }));
    return doc ? fromBinary(doc.value) : null;
  }

  /** Counts the live records it deletes; expired ones with those keys go too, uncounted. */
  async deleteRecords(collection: string, keys: readonly string[]): Promise<number> {
    checkRecordName(collection);
    for (const key of keys) checkRecordName(collection, key);
    if (keys.length === 0) return 0;
    const selector = { col: collection, key: { $in: [...keys] } };
    const live = await this.call(() => this.records.deleteMany({ ...selector, ...Q.notExpired(Date.now()) }));
    await this.call(() => this.records.deleteMany(selector));
    return live.deletedCount;
  }

  async listRecords(collection: string, page: RecordPage = {}): Promise<StoredRecord[]> {
    checkRecordName(collection);
    const limit = page.limit ?? DEFAULT_RECORD_PAGE;
    if (limit <= 0) return [];
    const docs = await this.call(() => this.records.find(Q.recordsSelector(collection, Date.now(), page.prefix, page.after)).sort({ key: 1 }).limit(limit).toArray());
    return docs.map((doc) => ({ key: doc.key, value: fromBinary(doc.value) }));
  }

  /**
   * Removes the liveness document (sessions still marked as ours count as disconnected from now
   * on; while MongoDB is away it expires by itself within LIVENESS_TTL), then closes the client.
   */
  close(): Promise<void> {
    if (!this.closing) {
      clearInterval(this.heartbeat);
      this.closing = (async () => {
        await Promise.race([
          this.instances.deleteOne({ _id: this.instanceId }).catch(() => undefined),
          this.connection.pause(1_000),
        ]);
        await this.connection.close();
      })();
    }
    return this.closing;
  }
}
