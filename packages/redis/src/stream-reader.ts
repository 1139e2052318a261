import { PublisherSequences, unref, type Message } from '@skynet-mqtt/core';
import { decodeMessage } from './codec.js';
import type { Client } from './connection.js';
import type { Logger } from './options.js';
import { runScript, STREAM_END } from './scripts.js';
import { parseXread, type StreamEntry } from './stream-entries.js';

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
/** How often the read position whose deliveries are all stored is written to Redis, at most. */
const COMMIT_MS = 100;

function noop(): void {}

/** What a reader needs of its Emitter. */
export interface ReaderHost {
  readonly instanceId: string;
  readonly logger: Logger;
  readonly closed: boolean;
  /** Whether anything is subscribed (nothing to decode otherwise). */
  readonly listening: boolean;
  /** Delivers another instance's message to the local handlers; their Store writes go to `writes`. */
  deliver(message: Message, writes: Promise<void>[]): void;
}

/**
 * Reads one stream on its own connection (a blocked XREAD would hold up every XADD queued behind
 * it) from where it ended at start, and hands other instances' entries to the Emitter. After a
 * reconnect it resumes from the last id it read, so what was published during an outage is still
 * delivered: at least once, within what the stream keeps. Entries are numbered per stream
 * (STREAM_PUBLISH), so a reader that fell further behind than that knows how many it missed.
 *
 * It keeps `<stream>:pos:<instanceId>`, the last entry up to which every Store write its
 * deliveries started is done (written every COMMIT_MS at most), so that if this instance dies,
 * the one taking over its duties queues again what came after it (Store.claimDeadInstances).
 */
export class StreamReader {
  /** Number (`n`) of the last entry read; -1 until the start point is known. */
  lastN = -1;
  /** Resolves once the reader knows where the stream ended: entries added after it are read. */
  readonly started: Promise<void>;
  private readonly loop: Promise<void>;
  private readonly sequences = new PublisherSequences();
  private retryTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  /** waitFor() calls waiting for the reader to get further. */
  private waiters: (() => void)[] = [];
  /** Settles once the Store writes of every batch read so far are done. */
  private finished: Promise<void> = Promise.resolve();
  /** The last entry up to which those writes are done, and the one last written to Redis. */
  private finishedId = '';
  private committedId = '';
  private commitTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly client: Client,
    private readonly writer: Client,
    readonly stream: string,
    private readonly host: ReaderHost,
  ) {
    let markStarted!: () => void;
    this.started = new Promise((resolve) => (markStarted = resolve));
    this.loop = this.read(markStarted);
  }

  private get positionKey(): string {
    return `${this.stream}:pos:${this.host.instanceId}`;
  }

  /** The read position moves past no entry read from now on until `pending` (a local delivery's writes) settles. */
  holdPosition(pending: Promise<void>): void {
    this.finished = Promise.all([this.finished, pending]).then(noop);
  }

  /** Waits until the reader has passed entry number `n`. */
  async waitFor(n: number): Promise<void> {
    await this.started;
    while (this.lastN < n && !this.host.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Stops reading at once (aborts a blocked XREAD) and forgets the position: a clean stop leaves no work behind. */
  close(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.commitTimer) clearTimeout(this.commitTimer);
    this.writer.del(this.positionKey).catch(() => undefined);
    this.wake?.();
    this.releaseWaiters();
    this.client.disconnect();
    return this.loop;
  }

  /** The entries up to `id` are read: once their writes (and those of earlier batches) are done, the position may move there. */
  private finishBatch(id: string, writes: Promise<void>[]): void {
    const previous = this.finished;
    this.finished = (writes.length === 0 ? previous : Promise.all([previous, ...writes]).then(noop)).then(() => {
      this.finishedId = id;
      this.commitTimer ??= unref(setTimeout(() => this.commit(), COMMIT_MS));
    });
  }

  private commit(): void {
    this.commitTimer = null;
    const id = this.finishedId;
    if (this.host.closed || id === this.committedId) return;
    this.committedId = id;
    this.writer.set(this.positionKey, id).catch((error: unknown) => this.host.logger.error(`Redis emitter: could not record its read position: ${String(error)}`));
  }

  /** One XREAD from after `lastId`: entries, or [] when BLOCK timed out. */
  private async readAfter(lastId: string): Promise<StreamEntry[]> {
    return parseXread(await this.client.callBuffer('XREAD', 'BLOCK', BLOCK_MS, 'COUNT', BATCH, 'STREAMS', this.stream, lastId));
  }

  private async read(started: () => void): Promise<void> {
    let lastId: string | null = null;
    /** The XREAD sent before the previous entries were handed over, if any. */
    let next: Promise<StreamEntry[]> | null = null;
    try {
      while (!this.host.closed) {
        try {
          if (lastId === null) {
            // The last entry, not '$': '$' would be resolved only when the XREAD reaches Redis,
            // and entries added between subscribe() resolving and that moment would be skipped.
            const end = await runScript(this.client, STREAM_END, this.stream, [this.host.instanceId]);
            const [id, n] = Array.isArray(end) ? end.map(String) : [];
            lastId = id ?? '0-0';
            this.lastN = Number(n ?? 0);
            started();
            continue;
          }
          // While Redis is away this waits in ioredis' queue; on reconnect it is sent again with
          // the same lastId, so the outage's entries are read, none skipped.
          const reading: Promise<StreamEntry[]> = next ?? this.readAfter(lastId);
          next = null;
          const entries = await reading;
          // The next XREAD goes out before these entries are handed over: Redis fills it while
          // this instance delivers, instead of waiting for it. Its lastId is the last entry's
          // either way; if it fails, the next turn reads from the same lastId again.
          if (entries.length > 0 && !this.host.closed) {
            next = this.readAfter(entries[entries.length - 1]!.id);
            next.catch(noop); // Awaited (and its error handled) on the next turn.
          }
          const writes: Promise<void>[] = [];
          for (const entry of entries) {
            lastId = entry.id;
            this.receive(entry, writes);
          }
          if (entries.length > 0) this.finishBatch(lastId, writes);
        } catch (error) {
          if (this.host.closed) return;
          this.host.logger.error(`Redis emitter: reading ${this.stream} failed, retrying in ${RETRY_MS} ms: ${String(error)}`);
          await this.pause(RETRY_MS);
        }
      }
    } finally {
      started(); // Closed before the start point was known: subscribe() must not hang.
    }
  }

  private receive(entry: StreamEntry, writes: Promise<void>[]): void {
    if (this.host.closed) return;
    const { n, publisher, seq, data } = entry;
    if (n === undefined || publisher === undefined || seq === undefined || data === undefined || !Number.isSafeInteger(n + seq)) {
      this.host.logger.error(`Redis emitter: skipped stream entry ${entry.id}, not written by a Redis emitter`);
      return;
    }
    this.countMissed(n);
    if (publisher === this.host.instanceId) return; // delivered at publish()
    if (this.sequences.isDuplicate(publisher, seq)) return; // a re-sent XADD Redis had applied
    if (!this.host.listening) return;
    let message: Message;
    try {
      message = decodeMessage(data);
    } catch (error) {
      this.host.logger.error(`Redis emitter: dropped an undecodable message: ${(error as Error).message}`);
      return;
    }
    this.host.deliver(message, writes);
  }

  /** Entries are numbered 1, 2, 3...: a jump means entries were trimmed before we read them. */
  private countMissed(n: number): void {
    const missed = n - this.lastN - 1;
    if (missed > 0) {
      this.host.logger.warn(
        `Redis emitter: ${missed} message(s) were trimmed from ${this.stream} before this instance could read them ` +
          `(it was cut off from Redis or too slow); raise maxStreamLength to bridge longer gaps`,
      );
    } else if (missed < 0) {
      // Numbers start again only if Redis lost the stream and its counter (no persistence).
      this.host.logger.warn(`Redis emitter: ${this.stream} was recreated (did Redis lose its data?); messages may have been lost`);
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
