// QoS 1 / QoS 2 throughput, 1 → 1, with a fixed number of messages in flight: a new PUBLISH goes
// out for every PUBACK (QoS 1) or PUBCOMP (QoS 2). Acknowledgements are written once per event-loop
// turn (setImmediate runs after all the reads epoll reported), not once per read: a broker that
// sends one small packet per write would otherwise cost the generator a write syscall per packet.
import type { Socket } from 'node:net';
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import { PacketType, publishBatch, writeAck, type QoS } from './frames.js';
import type { Outcome, RunContext } from './outcome.js';
import { SequenceCheck, payloadOffset, publishPacketId, sequenceOf } from './sequence-check.js';

export interface WindowedFlow {
  readonly qos: Exclude<QoS, 0>;
  readonly messages: number;
  readonly inFlight: number;
  readonly payload: number;
  readonly idleMs: number;
}

/** Collects 4-byte acks during one loop turn and writes them (and anything else queued) in one go. */
class AckWriter {
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private length = 0;
  private scheduled = false;

  constructor(private readonly socket: Socket, private readonly after: () => Buffer | undefined = () => undefined) {}

  ack(type: PacketType, id: number): void {
    if (this.length + 4 > this.scratch.length) {
      const bigger = Buffer.allocUnsafe(this.scratch.length * 2);
      this.scratch.copy(bigger, 0, 0, this.length);
      this.scratch = bigger;
    }
    writeAck(this.scratch, this.length, type, id);
    this.length += 4;
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const more = this.after();
    if (this.length === 0 && !more) return;
    this.socket.cork();
    if (this.length > 0) this.socket.write(Buffer.from(this.scratch.subarray(0, this.length)));
    if (more) this.socket.write(more);
    this.socket.uncork();
    this.length = 0;
  }
}

export async function runWindowedFlow(ctx: RunContext, flow: WindowedFlow): Promise<Outcome> {
  const topic = `bench/${ctx.tag}`;
  const clients: RawClient[] = [];
  try {
    const sub = await RawClient.open(ctx.subscriberTarget, `${ctx.tag}s`);
    clients.push(sub);
    await sub.subscribe(topic, flow.qos);
    const pub = await RawClient.open(ctx.target, `${ctx.tag}p`);
    clients.push(pub);

    const batch = publishBatch(topic, flow.qos, flow.payload, 0, flow.messages);
    const check = new SequenceCheck(flow.messages);
    let completed = 0; // publisher side: PUBACK / PUBCOMP received
    let sent = 0;
    let unexpected = 0;
    const completion = new Completion(ctx.brokerPids, () => completed + check.received, flow.idleMs, ctx.timeoutMs);
    const finished = (): void => {
      if (completed === flow.messages && check.received === flow.messages) completion.done();
    };

    // Subscriber: acknowledge every PUBLISH (PUBACK, or PUBREC then PUBCOMP on PUBREL).
    const subAcks = new AckWriter(sub.socket);
    sub.onFrames((buf, header, body, end) => {
      const type = header >> 4;
      if (type === PacketType.Publish) {
        const id = publishPacketId(buf, body);
        subAcks.ack(flow.qos === 1 ? PacketType.Puback : PacketType.Pubrec, id);
        check.record(sequenceOf(buf, payloadOffset(buf, header, body), end));
        finished();
      } else if (type === PacketType.Pubrel) {
        subAcks.ack(PacketType.Pubcomp, (buf[body]! << 8) | buf[body + 1]!);
      } else unexpected++;
    });

    // Publisher: every completed message frees a slot; refill the window after each read.
    const nextFrames = (): Buffer | undefined => {
      const upTo = Math.min(flow.messages, completed + flow.inFlight);
      if (upTo <= sent) return undefined;
      const slice = batch.frames.subarray(sent * batch.frameLength, upTo * batch.frameLength);
      sent = upTo;
      return slice;
    };
    const pubAcks = new AckWriter(pub.socket, nextFrames);
    const doneType = flow.qos === 1 ? PacketType.Puback : PacketType.Pubcomp;
    pub.onFrames((buf, header, body) => {
      const type = header >> 4;
      if (type === doneType) {
        completed++;
        pubAcks.schedule();
        finished();
      } else if (type === PacketType.Pubrec) {
        pubAcks.ack(PacketType.Pubrel, (buf[body]! << 8) | buf[body + 1]!);
      } else unexpected++;
    });

    completion.start();
    pubAcks.schedule(); // sends the first window
    const ending = await completion.ended;
    const seconds = completion.activeSeconds;
    return {
      expected: flow.messages,
      received: check.received,
      duplicates: check.duplicates,
      error:
        firstError(clients) ??
        (unexpected + check.malformed > 0 ? `${unexpected + check.malformed} unexpected frames` : undefined) ??
        (ending === 'timeout' ? `timed out after ${ctx.timeoutMs} ms` : undefined) ??
        (completed < flow.messages ? `${flow.messages - completed} publishes never acknowledged` : undefined),
      window: completion.window!,
      metrics: { msgsPerS: check.received / seconds },
    };
  } finally {
    await closeAll(clients);
  }
}
