import { randomBytes } from 'node:crypto';
import { ObjectId, type Collection, type Document, type FindCursor, type WithId } from 'mongodb';
import { ConfigurationError, PublisherSequences, LocalHandlers, type AdapterLogger, type Emitter, type Message, type MessageHandler } from '@skynet-mqtt/core';
import { ClosedError, MongoConnection } from './connection.js';
import { markerDocument, pubsubDocument, readPubsub, type PubsubDocument } from './documents.js';
import { resolveEmitterOptions, type MongoEmitterOptions, type ResolvedEmitterOptions } from './options.js';

/**
 * Seconds read again before the last document seen when the cursor is opened again: documents
 * are numbered by the server's clock (server-made ObjectIds), so anything written after the last
 * one read is within this window even if the clock stepped back a little. What is read twice is
 * dropped by its publisher's sequence number.
 */
export const RESUME_WINDOW_S = 30;
/** Documents per insertMany: what waited while the previous batch was being written. */
const BATCH = 1_000;
/** How long close() lets writes already sent finish (they wait for MongoDB while it is away). */
const CLOSE_GRACE_MS = 5_000;

interface PendingWrite {
  doc: PubsubDocument;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The Emitter on a capped collection (Mosca's `pubsubCollection`) read with a tailable, awaitData
 * cursor: works on a standalone server as on a replica set.
 *
 * - publish() delivers to this instance's handlers at once, then writes the message and resolves
 *   once MongoDB acknowledged it. Writes of one instance go one batch at a time (insertMany,
 *   ordered), so its messages are in the collection in the order of its publish() calls.
 * - Every instance tails the collection from the marker it wrote at start and delivers what
 *   other instances wrote. When the cursor dies (an outage, a restart) it is opened again a little
 *   before the last document read; copies are dropped by their publisher's sequence number, and a
 *   jump in it is what the cap overwrote before this instance read it: logged with the count.
 * - sync() writes a marker and waits until the reader has read it: everything written before it
 *   has been delivered by then.
 */
export class MongoEmitter implements Emitter {
  readonly instanceId = randomBytes(9).toString('base64url');
  private readonly options: ResolvedEmitterOptions;
  private readonly logger: AdapterLogger;
  private readonly connection: MongoConnection;
  private readonly collection: Collection<PubsubDocument>;
  private readonly handlers = new LocalHandlers();
  private readonly sequences = new PublisherSequences();
  private seq = 0;
  private pending: PendingWrite[] = [];
  private writing: Promise<void> | null = null;
  /** Markers of ours the reader has not reached yet, by sequence number. */
  private readonly markers = new Map<number, () => void>();
  /** Resolves once the reader reached this instance's start marker (or failed to start). */
  private readonly started: Promise<void>;
  private readonly loop: Promise<void>;
  private cursor: FindCursor<WithId<PubsubDocument>> | null = null;
  /** The sequence number of this instance's start marker: the reader delivers from there. */
  private startSeq = Infinity;
  /** Whether the reader has passed the start marker: from then on it delivers. */
  private reading = false;
  /** Set while the reader fails to read: the failure is logged once, and its end once. */
  private readerDown = false;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: MongoEmitterOptions | Record<string, unknown> = {}) {
    this.options = resolveEmitterOptions(options);
    this.logger = this.options.logger;
    const { url, database, driver, collection } = this.options;
    // Server-made ObjectIds: numbered by one clock, which the reader resumes by.
    this.connection = new MongoConnection(url, database, { ...driver, forceServerObjectId: true }, `MongoDB emitter (${database}.${collection})`, this.logger);
    this.collection = this.connection.db.collection<PubsubDocument>(collection);
    let reached!: () => void;
    let failed!: (error: Error) => void;
    this.started = new Promise<void>((resolve, reject) => {
      reached = resolve;
      failed = reject;
    });
    this.started.catch(() => undefined); // seen by subscribe() and sync()
    this.loop = this.read(reached, failed);
  }

  async publish(message: Message): Promise<void> {
    if (this.closed) throw new Error('MongoDB emitter: publish after close');
    // Built first: a message that cannot be written (too large) is not delivered locally either.
    const doc = pubsubDocument(this.instanceId, ++this.seq, message);
    this.deliver(message);
    await this.write(doc);
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.closed) return;
    this.handlers.add(filter, handler);
    // What other instances write after this resolves must be read: wait for the reader's start.
    await this.started;
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    this.handlers.remove(filter, handler);
  }

  async sync(): Promise<void> {
    if (this.closed) return;
    await this.started;
    const seq = ++this.seq;
    const read = new Promise<void>((resolve) => this.markers.set(seq, resolve));
    await this.write(markerDocument(this.instanceId, seq, 'sync'));
    await read;
  }

  /** A `ping` round trip to MongoDB (the admin listener's health check). */
  ping(): Promise<void> {
    return this.connection.ping();
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.handlers.clear();
      for (const resolve of this.markers.values()) resolve();
      this.markers.clear();
      this.closing = (async () => {
        // Writes already handed to MongoDB finish (a QoS 1/2 publisher waits for them), for a
        // bounded time: while MongoDB is away they would wait forever. The reader stops now.
        for (const write of this.pending.splice(0)) write.reject(new ClosedError('MongoDB emitter'));
        if (this.writing) await Promise.race([this.writing, this.connection.pause(CLOSE_GRACE_MS)]);
        await this.cursor?.close().catch(() => undefined);
        await this.connection.close();
        await this.loop;
      })();
    }
    return this.closing;
  }

  // Writing -----------------------------------------------------------------------------------

  private write(doc: PubsubDocument): Promise<void> {
    const written = new Promise<void>((resolve, reject) => this.pending.push({ doc, resolve, reject }));
    if (!this.writing) this.writing = this.drain();
    return written;
  }

  /** Writes what is pending, one batch at a time, until nothing is. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH);
      try {
        // Made again after a lost reply, a batch may be in the collection twice: readers drop the copies.
        await this.connection.run(() => this.collection.insertMany(batch.map((w) => w.doc), { ordered: true }));
        for (const write of batch) write.resolve();
      } catch (error) {
        for (const write of batch) write.reject(error as Error);
      }
    }
    this.writing = null;
  }

  // Reading -----------------------------------------------------------------------------------

  /** Creates the capped collection unless it exists; refuses one that exists and is not capped. */
  private async ensureCapped(): Promise<void> {
    const { collection, size, max } = this.options;
    try {
      await this.connection.db.createCollection(collection, { capped: true, size, max });
    } catch (error) {
      if ((error as { codeName?: string }).codeName !== 'NamespaceExists' && (error as { code?: number }).code !== 48) throw error;
    }
    if (!(await this.collection.isCapped())) {
      throw new ConfigurationError(`MongoDB emitter: the collection ${collection} exists and is not capped: drop it or choose another pubsubCollection`);
    }
  }

  private async read(reached: () => void, failed: (error: Error) => void): Promise<void> {
    let from: ObjectId;
    try {
      await this.connection.run(() => this.ensureCapped());
      // Where this instance starts: its own start marker. Everything before it was written
      // before subscribe() could resolve; the numbers seen on the way are recorded.
      const hello = await this.connection.run(() => this.connection.db.admin().command({ hello: 1 }));
      const serverTime = hello.localTime instanceof Date ? hello.localTime.getTime() : Date.now();
      from = ObjectId.createFromTime(Math.floor(serverTime / 1000) - RESUME_WINDOW_S);
      this.startSeq = ++this.seq;
      this.markers.set(this.startSeq, reached);
      await this.write(markerDocument(this.instanceId, this.startSeq, 'start'));
    } catch (error) {
      if (!(error instanceof ClosedError)) this.logger.error(`MongoDB emitter: could not start: ${(error as Error).message}`);
      failed(error instanceof ClosedError ? error : (error as Error));
      return;
    }
    while (!this.closed) {
      try {
        this.cursor = this.collection.find({ _id: { $gte: from } }, { tailable: true, awaitData: true });
        for await (const doc of this.cursor) {
          if (this.closed) return;
          if (this.readerDown) {
            this.readerDown = false;
            this.logger.info(`MongoDB emitter: reading ${this.options.collection} again`);
          }
          if (doc._id instanceof ObjectId) from = ObjectId.createFromTime(Math.floor(doc._id.getTimestamp().getTime() / 1000) - RESUME_WINDOW_S);
          this.receive(doc as unknown as Document);
        }
        // A tailable cursor ends when the collection is empty or its position was overwritten.
      } catch (error) {
        if (this.closed) return;
        if (!this.readerDown) {
          this.readerDown = true;
          this.logger.warn(`MongoDB emitter: reading ${this.options.collection} failed (${(error as Error).message}); reading again from where it stopped`);
        }
      } finally {
        await this.cursor?.close().catch(() => undefined);
      }
      if (!this.closed) await this.connection.pause(this.options.wait);
    }
  }

  /** Handles one document read from the collection. */
  private receive(doc: Document): void {
    const entry = readPubsub(doc);
    if ('invalid' in entry) {
      this.logger.error(`MongoDB emitter: skipped document ${String(doc._id)}: ${entry.invalid}`);
      return;
    }
    const { publisher, seq } = entry;
    const last = this.sequences.last(publisher);
    if (this.sequences.isDuplicate(publisher, seq)) return;
    if (publisher === this.instanceId) {
      // Delivered at publish(). How far the reader is: every marker up to here is passed (one the
      // cap overwrote included).
      if (seq >= this.startSeq) this.reading = true;
      for (const [markerSeq, resolve] of this.markers) {
        if (markerSeq > seq) break;
        resolve();
        this.markers.delete(markerSeq);
      }
      return;
    }
    if (!this.reading) return; // written before this instance started: the numbers are recorded
    if (last !== undefined && seq > last + 1) {
      this.logger.warn(
        `MongoDB emitter: ${seq - last - 1} message(s) of another instance were overwritten in ${this.options.collection} before this instance could read them; ` +
          'raise size and max to bridge longer gaps',
      );
    }
    if ('message' in entry && this.handlers.size > 0) this.deliver(entry.message);
  }

  /** Delivers to the local handlers; one failing handler does not keep the others from it. */
  private deliver(message: Message): void {
    this.handlers.deliver(message, (error) => this.logger.error(`MongoDB emitter: a handler of ${message.topic} threw: ${String(error)}`));
  }
}
