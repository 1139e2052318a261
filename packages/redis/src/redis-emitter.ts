import { randomBytes } from 'node:crypto';
import { LocalHandlers, type AdapterContext, type Emitter, type Message, type MessageHandler } from '@skynet-mqtt/core';
import { encodeMessage } from './codec.js';
import { closeClient, ConnectionMonitor, createClient, HealthPing, type Client, type ConnectionState } from './connection.js';
import { Keys } from './keys.js';
import { resolveOptions, type Connection, type Logger, type RedisAdapterOptions } from './options.js';
import { shardOf, streamPosition } from './shards.js';
import { StreamReader, type ReaderHost } from './stream-reader.js';
import { StreamWriter } from './stream-writer.js';

function noop(): void {}

/** One stream: its keys, the writer batching this instance's entries, the reader of everyone's. */
interface Stream {
  keys: Keys;
  appender: StreamWriter;
  reader: StreamReader;
  /** This instance's entries in this stream are numbered 1, 2, ... (`s`): readers drop re-sent ones. */
  seq: number;
}

/**
 * The Emitter on a Redis stream (`<prefix>stream`), shared by every instance on the prefix; with
 * `shards`, on one stream per shard, each in its shard's slot.
 *
 * - publish() delivers to this instance's handlers at once, synchronously, then XADDs the
 *   message and resolves when Redis acknowledged it. Local delivery therefore goes on while
 *   Redis is away, and a QoS 1/2 acknowledgement (which waits for publish()) waits for Redis.
 *   The XADDs of the messages published meanwhile go together, in one script call (StreamWriter).
 *   With shards a message goes to the stream of its publisher's shard (the client's, or this
 *   instance's for messages without one), so each publisher's messages keep their order, and a
 *   QoS 2 message of a durable session is added in the slot of its session's incoming ids.
 * - A reader per stream (StreamReader) delivers other instances' entries to the matching handlers
 *   and keeps this instance's read position in that stream.
 *
 * Subscriptions are local (LocalHandlers): every instance reads every entry, as every broker
 * subscribes to '#' anyway.
 */
export class RedisEmitter implements Emitter, ReaderHost {
  /**
   * Written into each entry, so that the reader skips what this instance already delivered; also
   * names its read position. The broker gives its Store the same id (AdapterContext).
   */
  readonly instanceId: string;
  readonly logger: Logger;
  private readonly writer: Client;
  private readonly streams: readonly Stream[];
  private readonly monitor: ConnectionMonitor;
  private readonly handlers = new LocalHandlers();
  closed = false;
  private closing: Promise<void> | null = null;
  private readonly health: HealthPing;

  /** The prefix as configured, the key prefix of each shard and the Redis they are on, for RedisStore.sharesIncomingWith. */
  readonly prefix: string;
  readonly keyPrefixes: readonly string[];
  readonly connection: Connection;

  constructor(options: RedisAdapterOptions | Record<string, unknown> = {}, context?: AdapterContext) {
    const resolved = resolveOptions(options, 'emitter');
    this.prefix = resolved.prefix;
    this.keyPrefixes = resolved.keyPrefixes;
    this.connection = resolved.connection;
    this.instanceId = context?.instanceId ?? randomBytes(9).toString('base64url');
    this.logger = resolved.logger;
    this.writer = createClient(resolved.connection);
    this.streams = resolved.keyPrefixes.map((prefix) => {
      const keys = new Keys(prefix);
      // Its own connection per stream: a blocked XREAD would hold up every command queued behind it.
      const reader = new StreamReader(this.writer.duplicate(), this.writer, keys.stream, this);
      return { keys, appender: new StreamWriter(this.writer, keys.stream, [resolved.maxStreamLength, this.instanceId]), reader, seq: 0 };
    });
    this.monitor = new ConnectionMonitor([this.writer, ...this.streams.map((stream) => stream.reader.client)], `Redis emitter (${resolved.prefix})`, resolved.logger);
    this.health = new HealthPing(this.writer, this.monitor);
  }

  /** The worst of the connections' states. */
  get state(): ConnectionState {
    return this.monitor.state;
  }

  get listening(): boolean {
    return this.handlers.size > 0;
  }

  /**
   * A PING round trip. Rejects at once while the connection is known to be lost; before the first
   * connection it waits (the caller bounds the wait), sharing one PING among concurrent callers.
   */
  ping(): Promise<void> {
    return this.health.ping();
  }

  /** The stream of a publisher (a client id, else this instance): always the same one. */
  private streamOf(publisher: string): number {
    return shardOf(publisher, this.streams.length);
  }

  /**
   * Resolves with the message's position (its number `n` in its stream, see streamPosition). Not
   * an async function: while its batch is out a message holds only its place in the StreamWriter
   * (a broker has thousands out).
   */
  publish(message: Message, publisher?: string): Promise<number> {
    if (this.closed) return Promise.reject(new Error('Redis emitter: publish after close'));
    let data: Buffer;
    try {
      // Encoded first: a message that cannot be sent (topic too long) is not delivered locally either.
      data = encodeMessage(message);
    } catch (error) {
      return Promise.reject(error);
    }
    const index = this.streamOf(publisher ?? this.instanceId);
    const stream = this.streams[index]!;
    const seq = ++stream.seq;
    const writes: Promise<void>[] = [];
    this.deliver(message, writes);
    // The reader skips this entry: its position passes it once these writes are done.
    if (writes.length > 0) stream.reader.holdPosition(Promise.all(writes).then(noop));
    const count = this.streams.length;
    const appended = stream.appender.append(seq, data);
    return count === 1 ? appended : appended.then((n) => streamPosition(n, index, count));
  }

  /**
   * STREAM_PUBLISH with a packet id: it joins the session's incoming ids (the Redis Store's, same
   * prefix and shard) in the step that adds the entry. This instance's handlers get the message
   * once Redis has it, and the call resolves once the Store writes they started are done.
   */
  async publishOnce(message: Message, clientId: string, packetId: number): Promise<{ earlier: string | null; position?: number }> {
    if (this.closed) throw new Error('Redis emitter: publish after close');
    const data = encodeMessage(message);
    const index = this.streamOf(clientId);
    const stream = this.streams[index]!;
    const seq = ++stream.seq;
    // The reader may pass this entry before the local deliveries below are stored: it waits.
    let done!: () => void;
    stream.reader.holdPosition(new Promise<void>((resolve) => (done = resolve)));
    try {
      const appended = await stream.appender.appendOnce(seq, data, { key: stream.keys.incoming(clientId), packetId, messageId: message.id });
      if (!appended.added) return { earlier: appended.earlier };
      const writes: Promise<void>[] = [];
      this.deliver(message, writes);
      await Promise.all(writes);
      return { earlier: null, position: streamPosition(appended.n, index, this.streams.length) };
    } finally {
      done();
    }
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.closed) return;
    this.handlers.add(filter, handler);
    // What other instances publish after this resolves must be read: wait until the readers have
    // their starting points (they wait for Redis when Redis is unreachable, as the writes do).
    await Promise.all(this.streams.map((stream) => stream.reader.started));
  }

  /** Waits until the readers have passed each stream's last entry as of now (local ones are delivered at publish). */
  async sync(): Promise<void> {
    if (this.closed) return;
    await Promise.all(
      this.streams.map(async ({ keys, reader }) => {
        await reader.started;
        await reader.waitFor(Number((await this.writer.get(`${keys.stream}:n`)) ?? 0));
      }),
    );
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    this.handlers.remove(filter, handler);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.monitor.closed();
      this.handlers.clear();
      // The readers stop at once (a blocked XREAD is aborted); a clean stop leaves no work behind.
      const readers = this.streams.map((stream) => stream.reader.close());
      // The writer quits after its pending XADDs when connected, so those are not lost.
      for (const stream of this.streams) stream.appender.flush();
      this.closing = Promise.all([...readers, closeClient(this.writer)]).then(() => undefined);
    }
    return this.closing;
  }

  /**
   * Delivers to the local handlers; one failing handler does not keep the others from it. The
   * promises handlers return (their Store writes) are collected in `writes` when given.
   */
  deliver(message: Message, writes?: Promise<void>[]): void {
    this.handlers.deliver(message, (error) => this.logger.error(`Redis emitter: a handler of ${message.topic} threw: ${String(error)}`), writes);
  }
}
