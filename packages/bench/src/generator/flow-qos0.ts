// QoS 0 throughput: P publishers → K subscribers, every publisher writes all its pre-encoded
// messages at once (as fast as the socket takes them). Covers p2p (1→1), fanin (P→1 on a
// wildcard) and fanout (1→K).
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import { publishBatch, type PublishBatch } from './frames.js';
import type { Outcome, RunContext } from './outcome.js';
import { SequenceCheck, isPublish, payloadOffset, sequenceOf } from './sequence-check.js';

export interface Qos0Flow {
  readonly publishers: number;
  readonly subscribers: number;
  readonly messages: number;
  readonly payload: number;
  /** Give up when nothing arrives for this long (QoS 0 may be dropped). */
  readonly idleMs: number;
}

export async function runQos0Flow(ctx: RunContext, flow: Qos0Flow): Promise<Outcome> {
  const base = `bench/${ctx.tag}`;
  // fanin subscribes with a wildcard over per-publisher topics, as a telemetry backend would.
  const filter = flow.publishers > 1 ? `${base}/+` : base;
  const topicOf = (i: number): string => (flow.publishers > 1 ? `${base}/${i}` : base);

  const subs: RawClient[] = [];
  const pubs: RawClient[] = [];
  try {
    for (let i = 0; i < flow.subscribers; i++) {
      const c = await RawClient.open(ctx.subscriberTarget, `${ctx.tag}s${i}`);
      subs.push(c);
      await c.subscribe(filter, 0);
      c.batchReads();
    }
    for (let i = 0; i < flow.publishers; i++) pubs.push(await RawClient.open(ctx.target, `${ctx.tag}p${i}`));

    // Pre-encode: publisher i carries the sequence range [first_i, first_i + count_i).
    const per = Math.floor(flow.messages / flow.publishers);
    const writers = pubs.map((pub, i) => {
      const first = i * per;
      const count = i === pubs.length - 1 ? flow.messages - first : per;
      return new BatchWriter(pub, topicOf(i), flow.payload, first, count);
    });

    const expected = flow.messages * flow.subscribers;
    let delivered = 0;
    let malformedFrames = 0;
    const completion = new Completion(ctx.brokerPids, () => delivered, flow.idleMs, ctx.timeoutMs);
    const checks = subs.map((sub) => {
      const check = new SequenceCheck(flow.messages);
      sub.onFrames((buf, header, body, end) => {
        if (!isPublish(header)) {
          malformedFrames++;
          return;
        }
        if (check.record(sequenceOf(buf, payloadOffset(buf, header, body), end)) && ++delivered === expected) {
          completion.done();
        }
      });
      return check;
    });

    completion.start();
    for (const writer of writers) writer.start();
    const ending = await completion.ended;

    const window = completion.window!;
    const seconds = completion.activeSeconds;
    const messagesSeen = checks.reduce((n, c) => Math.max(n, c.received), 0);
    const malformed = malformedFrames + checks.reduce((n, c) => n + c.malformed, 0);
    return {
      expected,
      received: delivered,
      duplicates: checks.reduce((n, c) => n + c.duplicates, 0),
      error:
        firstError([...subs, ...pubs]) ??
        (malformed > 0 ? `${malformed} unexpected frames` : undefined) ??
        (ending === 'timeout' ? `timed out after ${ctx.timeoutMs} ms` : undefined),
      window,
      metrics: {
        msgsPerS: (flow.subscribers > 1 ? messagesSeen : delivered) / seconds,
        deliveriesPerS: delivered / seconds,
        payloadMBPerS: ((flow.subscribers > 1 ? messagesSeen : delivered) * flow.payload) / seconds / 1e6,
      },
    };
  } finally {
    await closeAll([...pubs, ...subs]);
  }
}

/** A run's frames beyond this many bytes are encoded a chunk at a time (16 KB payloads would need gigabytes). */
const CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Writes one publisher's messages as fast as the socket takes them. A small run is encoded before
 * the measurement and written at once; a large one in chunks of CHUNK_BYTES, two in the socket at
 * a time, each encoded when the one before last has been handed to the kernel.
 */
class BatchWriter {
  private readonly perChunk: number;
  private readonly first: PublishBatch;
  private next = 0;

  constructor(
    private readonly client: RawClient,
    private readonly topic: string,
    private readonly payload: number,
    private readonly firstSeq: number,
    private readonly count: number,
  ) {
    const frameLength = publishBatch(topic, 0, payload, 0, 1).frameLength;
    this.perChunk = Math.max(1, Math.floor(CHUNK_BYTES / frameLength));
    this.first = this.chunk();
  }

  start(): void {
    this.write(this.first);
    this.writeNext();
  }

  private chunk(): PublishBatch {
    const count = Math.min(this.perChunk, this.count - this.next);
    const batch = publishBatch(this.topic, 0, this.payload, this.firstSeq + this.next, count);
    this.next += count;
    return batch;
  }

  private writeNext(): void {
    if (this.next < this.count && !this.client.socket.destroyed) this.write(this.chunk());
  }

  private write(batch: PublishBatch): void {
    this.client.socket.write(batch.frames, () => this.writeNext());
  }
}
