import type { Client } from './connection.js';
import { STREAM_PUBLISH, type ScriptArg } from './scripts.js';

/** What STREAM_PUBLISH did with one message: added as entry number `n`, or not added (a re-sent packet id, recorded under `earlier`). */
export type Appended = { added: true; n: number } | { added: false; earlier: string };

/** A QoS 2 message's packet id, recorded in the session's incoming hash as its entry is added. */
export interface IncomingId {
  key: string;
  packetId: number;
  messageId: string;
}

interface Queued {
  args: ScriptArg[];
  bytes: number;
  /** With a packet id (appendOnce): settles with an Appended; otherwise with the entry's number. */
  once: boolean;
  resolve(value: Appended | number): void;
  reject(error: unknown): void;
}

/** Messages per STREAM_PUBLISH call at most, and their bytes: one call holds Redis for a few milliseconds at most. */
const MAX_MESSAGES = 1_000;
const MAX_BYTES = 4 * 1024 * 1024;
/**
 * Calls out at once: the next batch need not wait for the previous one's answer. On the busy
 * 2-core test machine (every hop a process waking up) that was worth 13-18% at QoS 0 and 1 over
 * one call out with Node's default young generation, and made no difference with the command's 4 MB.
 */
const MAX_CALLS_OUT = 4;
/**
 * What is queued is spread over MAX_CALLS_OUT calls, down to this many messages a call: calls of
 * 1,000 only when 4,000 wait.
 * Redis answers a call, and serves the readers blocked on the stream, only once its whole script
 * has run: a burst in one call reaches the other instances in one piece after all of it was
 * added. In parts, Redis adds the second while the readers already deliver the first. Across two
 * instances with at most 1,000 messages in transit (a QoS 0 publisher and its subscriber), bursts
 * made 1.15-1.4 times as many msg/s in parts (docs/performance.md, goal 8 of issue 15).
 */
const MIN_SPLIT = 128;

/**
 * Adds an instance's messages to the stream in batches: what is published within one turn of the
 * event loop, or while MAX_CALLS_OUT calls are out, goes in the next calls (MIN_SPLIT messages
 * each at least): one round trip and one script for many. So the Redis work per message is an
 * XADD inside a script, not a command of its own, and batches grow with the load by themselves.
 *
 * The calls are EVAL, not EVALSHA: a Redis restarted with an empty script cache cannot refuse one
 * (NOSCRIPT) while a later one, sent behind it, succeeds, so the entries keep the order of
 * publishing with several calls out; the script's text costs about 1 KB per batch. Each
 * message's promise settles with its batch: a message is acknowledged only once Redis has it.
 */
export class StreamWriter {
  private queue: Queued[] = [];
  private callsOut = 0;
  private scheduled = false;

  constructor(
    private readonly client: Client,
    private readonly stream: string,
    /** STREAM_PUBLISH's first arguments: max length, instance id. */
    private readonly head: readonly ScriptArg[],
  ) {}

  /** Resolves with the entry's number (`n`) once Redis has it. */
  append(seq: number, data: Buffer): Promise<number> {
    return new Promise((resolve, reject) => this.enqueue({ args: [seq, data], bytes: data.length, once: false, resolve: resolve as (value: Appended | number) => void, reject }));
  }

  /** The same for a message whose packet id is recorded in `incoming` unless it is there already. */
  appendOnce(seq: number, data: Buffer, incoming: IncomingId): Promise<Appended> {
    const args: ScriptArg[] = [`-${seq}`, data, incoming.key, incoming.packetId, incoming.messageId];
    return new Promise((resolve, reject) => this.enqueue({ args, bytes: data.length, once: true, resolve: resolve as (value: Appended | number) => void, reject }));
  }

  private enqueue(queued: Queued): void {
    this.queue.push(queued);
    if (this.callsOut < MAX_CALLS_OUT && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.send();
      });
    }
  }

  /** Sends everything queued now, whatever is out (close: the connection then quits after them). */
  flush(): void {
    while (this.queue.length > 0) this.sendBatch();
  }

  private send(): void {
    const size = Math.min(MAX_MESSAGES, Math.max(MIN_SPLIT, Math.ceil(this.queue.length / MAX_CALLS_OUT)));
    while (this.callsOut < MAX_CALLS_OUT && this.queue.length > 0) {
      this.callsOut++;
      this.sendBatch(size).finally(() => {
        this.callsOut--;
        this.send();
      });
    }
  }

  /** One call with the next `size` queued messages at most (MAX_BYTES at most). */
  private sendBatch(size: number = MAX_MESSAGES): Promise<void> {
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < size && (count === 0 || bytes + this.queue[count]!.bytes <= MAX_BYTES)) bytes += this.queue[count++]!.bytes;
    const batch = this.queue.splice(0, count);
    const args: ScriptArg[] = [...this.head];
    for (const queued of batch) args.push(...queued.args);
    return this.client.call('EVAL', STREAM_PUBLISH.source, 1, this.stream, ...args).then(
      (reply) => {
        const flat = Array.isArray(reply) ? reply : [];
        batch.forEach((queued, i) => {
          const answer = flat[2 * i + 1];
          if (!queued.once) queued.resolve(Number(answer));
          else if (Number(flat[2 * i]) === 1) queued.resolve({ added: true, n: Number(answer) });
          else queued.resolve({ added: false, earlier: String(answer ?? '') });
        });
      },
      (error: unknown) => {
        for (const queued of batch) queued.reject(error);
      },
    );
  }
}
