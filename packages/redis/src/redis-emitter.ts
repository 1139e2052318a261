import { randomBytes } from 'node:crypto';
import { PublisherSequences, LocalHandlers, unref, type AdapterContext, type Emitter, type Message, type MessageHandler } from '@skynet-mqtt/core';
import { decodeMessage, encodeMessage } from './codec.js';
import { closeClient, ConnectionMonitor, createClient, HealthPing, type Client, type ConnectionState } from './connection.js';
import { Keys } from './keys.js';
import { resolveOptions, type Connection, type Logger, type RedisAdapterOptions } from './options.js';
import { runScript, STREAM_END } from './scripts.js';
import { parseXread, type StreamEntry } from './stream-entries.js';
import { StreamWriter } from './stream-writer.js';

/**
 * How long one XREAD blocks. Close does not wait for it (it disconnects the reader); it is
 * bounded only so that the connection is never idle for long, which proxies and load balancers
 * in front of Redis may punish by closing it.
 */
const BLOCK_MS = 5_000;
/** Entries per XREAD: large enough to catch up quickly after an outage, small enough per reply. */
const BATCH = 1_000;
/** Pause after a read error that is not an outage (ioredis waits those out), e.g. WRONGTYPE. */
const RETRY_MS = 1_000;
function noop(): void {}

/** How often the read position whose deliveries are all stored is written to Redis, at most. */
const COMMIT_MS = 100;

/**
 * The Emitter on a Redis stream (`<prefix>stream`), shared by every instance on the prefix.
 *
 * - publish() delivers to this instance's handlers at once, synchronously, then XADDs the
 *   message and resolves when Redis acknowledged it. Local delivery therefore goes on while
 *   Redis is away, and a QoS 1/2 acknowledgement (which waits for publish()) waits for Redis.
 *   The XADDs of the messages published meanwhile go together, in one script call (StreamWriter).
 * - A reader loop on its own connection XREADs the stream from where it ended at start and
 *   delivers other instances' entries to the matching handlers. After a reconnect it resumes from
 *   the last id it read, so what was published during an outage is still delivered: at least
 *   once, within what the stream keeps (`maxStreamLength`). Entries are numbered across
 *   instances (STREAM_PUBLISH), so a reader that fell further behind than that knows how many
 *   it missed and says so.
 *
 * Subscriptions are local (LocalHandlers): every instance reads every entry, as every broker
 * subscribes to '#' anyway.
 *
 * A handler may return a promise: the Store writes its delivery started (a durable session's
 * in-flight packet or queued message). The reader keeps `<stream>:pos:<instanceId>`, the last entry
 * up to which every such write is done (written every COMMIT_MS at most), so that if this instance
 * dies, the one taking over its duties queues again what came after it (Store.claimDeadInstances).
 */
export class RedisEmitter implements Emitter {
  /**
   * Written into each entry, so that the reader skips what this instance already delivered; also
   * names its read position. The broker gives its Store the same id (AdapterContext).
   */
  readonly instanceId: string;
  private readonly writer: Client;
  private readonly reader: Client;
  private readonly keys: Keys;
  private readonly monitor: ConnectionMonitor;
  private readonly logger: Logger;
  private readonly appender: StreamWriter;
  private readonly handlers = new LocalHandlers();
  private readonly sequences = new PublisherSequences();
  private seq = 0;
  /** Number (`n`) of the last entry read; -1 until the start point is known. */
  private lastN = -1;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly health: HealthPing;
  /** Resolves once the reader knows where the stream ended: entries added after it are read. */
  private readonly started: Promise<void>;
  private readonly loop: Promise<void>;
  private retryTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** sync() calls waiting for the reader to get further. */
  private waiters: (() => void)[] = [];
  /** Settles once the Store writes of every batch read so far are done. */
  private finished: Promise<void> = Promise.resolve();
  /** The last entry up to which those writes are done, and the one last written to Redis. */
  private finishedId = '';
  private committedId = '';
  private commitTimer: NodeJS.Timeout | null = null;

  /** The key prefix and the Redis it is on, for RedisStore.sharesIncomingWith. */
  readonly keyPrefix: string;
  readonly connection: Connection;

  constructor(options: RedisAdapterOptions | Record<string, unknown> = {}, context?: AdapterContext) {
    const resolved = resolveOptions(options, 'emitter');
    this.keyPrefix = resolved.keyPrefix;
    this.connection = resolved.connection;
    this.instanceId = context?.instanceId ?? randomBytes(9).toString('base64url');
    this.logger = resolved.logger;
    this.keys = new Keys(resolved.keyPrefix);
    this.writer = createClient(resolved.connection);
    this.appender = new StreamWriter(this.writer, this.keys.stream, [resolved.maxStreamLength, this.instanceId]);
    // Its own connection: a blocked XREAD would hold up every XADD queued behind it.
    this.reader = this.writer.duplicate();
    this.monitor = new ConnectionMonitor([this.writer, this.reader], `Redis emitter (${resolved.prefix})`, resolved.logger);
    this.health = new HealthPing(this.writer, this.monitor);
    let markStarted!: () => void;
    this.started = new Promise((resolve) => (markStarted = resolve));
    this.loop = this.read(markStarted);
  }

  /** The worse of the two connections' states. */
  get state(): ConnectionState {
    return this.monitor.state;
  }

  /**
   * A PING round trip. Rejects at once while the connection is known to be lost; before the first
   * connection it waits (the caller bounds the wait), sharing one PING among concurrent callers.
   */
  ping(): Promise<void> {
    return this.health.ping();
  }

  /** Resolves with the message's number in the stream (`n`). */
  async publish(message: Message): Promise<number> {
    if (this.closed) throw new Error('Redis emitter: publish after close');
    // Encoded first: a message that cannot be sent (topic too long) is not delivered locally either.
    const data = encodeMessage(message);
    const seq = ++this.seq;
    const writes: Promise<void>[] = [];
    this.deliver(message, writes);
    // The reader skips this entry: its position passes it once these writes are done.
    if (writes.length > 0) this.holdPosition(Promise.all(writes).then(noop));
    const appended = await this.appender.append(seq, data);
    return appended.added ? appended.n : 0;
  }

  /**
   * STREAM_PUBLISH with a packet id: it joins the session's incoming ids (the Redis Store's, same
   * prefix) in the step that adds the entry. This instance's handlers get the message once Redis
   * has it, and the call resolves once the Store writes they started are done.
   */
  async publishOnce(message: Message, clientId: string, packetId: number): Promise<{ earlier: string | null; position?: number }> {
    if (this.closed) throw new Error('Redis emitter: publish after close');
    const data = encodeMessage(message);
    const seq = ++this.seq;
    // The reader may pass this entry before the local deliveries below are stored: it waits.
    let done!: () => void;
    this.holdPosition(new Promise<void>((resolve) => (done = resolve)));
    try {
      const appended = await this.appender.append(seq, data, { key: this.keys.incoming(clientId), packetId, messageId: message.id });
      if (!appended.added) return { earlier: appended.earlier };
      const writes: Promise<void>[] = [];
      this.deliver(message, writes);
      await Promise.all(writes);
      return { earlier: null, position: appended.n };
    } finally {
      done();
    }
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.closed) return;
    this.handlers.add(filter, handler);
    // What other instances publish after this resolves must be read: wait until the reader has
    // its starting point (it waits for Redis when Redis is unreachable, as the writes do).
    await this.started;
  }

  /** Waits until the reader has passed the stream's last entry as of now (local ones are delivered at publish). */
  async sync(): Promise<void> {
    if (this.closed) return;
    await this.started;
    const target = Number((await this.writer.get(`${this.keys.stream}:n`)) ?? 0);
    while (this.lastN < target && !this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    this.handlers.remove(filter, handler);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.monitor.closed();
      this.handlers.clear();
      if (this.retryTimer) clearTimeout(this.retryTimer);
      if (this.commitTimer) clearTimeout(this.commitTimer);
      // A clean stop leaves no work behind: nothing to redo for another instance.
      this.writer.del(this.positionKey).catch(() => undefined);
      this.wake?.();
      this.releaseWaiters();
      // Aborts the blocked XREAD now rather than after BLOCK_MS; nothing to flush on a reader.
      this.reader.disconnect();
      // The writer quits after its pending XADDs when connected, so those are not lost.
      this.appender.flush();
      this.closing = Promise.all([this.loop, closeClient(this.writer)]).then(() => undefined);
    }
    return this.closing;
  }

  /**
   * Delivers to the local handlers; one failing handler does not keep the others from it. The
   * promises handlers return (their Store writes) are collected in `writes` when given.
   */
  private deliver(message: Message, writes?: Promise<void>[]): void {
    this.handlers.deliver(message, (error) => this.logger.error(`Redis emitter: a handler of ${message.topic} threw: ${String(error)}`), writes);
  }

  private get positionKey(): string {
    return `${this.keys.stream}:pos:${this.instanceId}`;
  }

  /** The read position moves past no entry read from now on until `pending` (a local delivery's writes) settles. */
  private holdPosition(pending: Promise<void>): void {
    this.finished = Promise.all([this.finished, pending]).then(noop);
  }

  /** The entries up to `id` are read: once their writes (and those of earlier batches) are done, the position may move there. */
  private finishBatch(id: string, writes: Promise<void>[]): void {
    const previous = this.finished;
    this.finished = (writes.length === 0 ? previous : Promise.all([previous, ...writes]).then(() => undefined)).then(() => {
      this.finishedId = id;
      this.commitTimer ??= unref(setTimeout(() => this.commit(), COMMIT_MS));
    });
  }

  private commit(): void {
    this.commitTimer = null;
    const id = this.finishedId;
    if (this.closed || id === this.committedId) return;
    this.committedId = id;
    this.writer.set(this.positionKey, id).catch((error: unknown) => this.logger.error(`Redis emitter: could not record its read position: ${String(error)}`));
  }

  private async read(started: () => void): Promise<void> {
    let lastId: string | null = null;
    try {
      while (!this.closed) {
        try {
          if (lastId === null) {
            // The last entry, not '$': '$' would be resolved only when the XREAD reaches Redis,
            // and entries added between subscribe() resolving and that moment would be skipped.
            const end = await runScript(this.reader, STREAM_END, this.keys.stream, [this.instanceId]);
            const [id, n] = Array.isArray(end) ? end.map(String) : [];
            lastId = id ?? '0-0';
            this.lastN = Number(n ?? 0);
            started();
            continue;
          }
          // While Redis is away this waits in ioredis' queue; on reconnect it is sent again with
          // the same lastId, so the outage's entries are read, none skipped.
          const reply: unknown = await this.reader.callBuffer('XREAD', 'BLOCK', BLOCK_MS, 'COUNT', BATCH, 'STREAMS', this.keys.stream, lastId);
          const entries: StreamEntry[] = parseXread(reply);
          const writes: Promise<void>[] = [];
          for (const entry of entries) {
            lastId = entry.id;
            this.receive(entry, writes);
          }
          if (entries.length > 0) this.finishBatch(lastId, writes);
        } catch (error) {
          if (this.closed) return;
          this.logger.error(`Redis emitter: reading ${this.keys.stream} failed, retrying in ${RETRY_MS} ms: ${String(error)}`);
          await this.pause(RETRY_MS);
        }
      }
    } finally {
      started(); // Closed before the start point was known: subscribe() must not hang.
    }
  }

  private receive(entry: StreamEntry, writes: Promise<void>[]): void {
    if (this.closed) return;
    const { n, publisher, seq, data } = entry;
    if (n === undefined || publisher === undefined || seq === undefined || data === undefined || !Number.isSafeInteger(n + seq)) {
      this.logger.error(`Redis emitter: skipped stream entry ${entry.id}, not written by a Redis emitter`);
      return;
    }
    this.countMissed(n);
    if (publisher === this.instanceId) return; // delivered at publish()
    if (this.sequences.isDuplicate(publisher, seq)) return; // a re-sent XADD Redis had applied
    if (this.handlers.size === 0) return;
    let message: Message;
    try {
      message = decodeMessage(data);
    } catch (error) {
      this.logger.error(`Redis emitter: dropped an undecodable message: ${(error as Error).message}`);
      return;
    }
    this.deliver(message, writes);
  }

  /** Entries are numbered 1, 2, 3...: a jump means entries were trimmed before we read them. */
  private countMissed(n: number): void {
    const missed = n - this.lastN - 1;
    if (missed > 0) {
      this.logger.warn(
        `Redis emitter: ${missed} message(s) were trimmed from ${this.keys.stream} before this instance could read them ` +
          `(it was cut off from Redis or too slow); raise maxStreamLength to bridge longer gaps`,
      );
    } else if (missed < 0) {
      // Numbers start again only if Redis lost the stream and its counter (no persistence).
      this.logger.warn(`Redis emitter: ${this.keys.stream} was recreated (did Redis lose its data?); messages may have been lost`);
    }
    this.lastN = n;
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.retryTimer = setTimeout(resolve, ms);
    });
  }
}
