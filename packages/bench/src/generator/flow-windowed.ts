// QoS 1 / QoS 2 throughput, 1 → 1, with a fixed number of messages in flight: a new PUBLISH goes
// out for every PUBACK (QoS 1) or PUBCOMP (QoS 2); acknowledgements go out once per loop turn (AckWriter).
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import { AckWriter } from './ack-writer.js';
import { PacketType, publishBatch, type QoS } from './frames.js';
import type { Outcome, RunContext } from './outcome.js';
import { SequenceCheck, payloadOffset, publishPacketId, sequenceOf } from './sequence-check.js';

export interface WindowedFlow {
  readonly qos: Exclude<QoS, 0>;
  readonly messages: number;
  readonly inFlight: number;
  readonly payload: number;
  readonly idleMs: number;
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
