// Retained replay: `messages` retained messages are stored (QoS 1, `window` in flight, so every one
// is stored before the replay starts), then a new client subscribes to their prefix with '#' at
// QoS 0 or 1. The figure is the rate from its SUBSCRIBE to the last retained message; each must
// arrive once, with RETAIN set, at the granted QoS. The broker's RSS before and after storing gives
// the memory per retained message. Then every one is cleared (an empty retained message to each
// topic), so later scenarios meet an empty index.
import { setTimeout as sleep } from 'node:timers/promises';
import { readRssBytes, rssPer, sumOver } from '../proc.js';
import { AckWriter } from './ack-writer.js';
import { RawClient, closeAll, firstError } from './client.js';
import { Completion } from './completion.js';
import { PacketType, packetIdOf, publishFrame, subscribePacket } from './frames.js';
import type { Outcome, RunContext } from './outcome.js';
import { SequenceCheck, payloadOffset, publishPacketId, sequenceOf } from './sequence-check.js';

export interface RetainedRun {
  readonly messages: number;
  /** The subscriber's QoS (messages are stored at QoS 1). */
  readonly qos: 0 | 1;
  readonly payload: number;
  /** QoS 1 publishes in flight while storing and clearing. */
  readonly window: number;
  /** Pause before reading RSS after storing. */
  readonly holdMs: number;
  readonly idleMs: number;
}

export async function runRetained(ctx: RunContext, run: RetainedRun): Promise<Outcome> {
  const prefix = `bench/${ctx.tag}/ret`;
  const topicOf = (i: number): string => `${prefix}/${i % 1000}/${i}`;
  const clients: RawClient[] = [];
  try {
    const pub = await RawClient.open(ctx.target, `${ctx.tag}p`);
    clients.push(pub);
    const rssBefore = sumOver(ctx.brokerPids, readRssBytes);
    const stored = await publishAcked(pub, run.messages, (i, id) => publishFrame(topicOf(i), 1, true, id, run.payload, i), run.window, run.idleMs);
    await sleep(run.holdMs);
    const rssStored = sumOver(ctx.brokerPids, readRssBytes);

    const sub = await RawClient.open(ctx.subscriberTarget, `${ctx.tag}s`);
    clients.push(sub);
    const check = new SequenceCheck(run.messages);
    let notRetained = 0;
    let wrongQos = 0;
    let unexpected = 0;
    const completion = new Completion(ctx.brokerPids, () => check.received, run.idleMs, ctx.timeoutMs);
    const acks = new AckWriter(sub.socket);
    sub.onFrames((buf, header, body, end) => {
      const type = header >> 4;
      if (type === PacketType.Suback) {
        if (buf[body + 2] === 0x80) unexpected++;
        return;
      }
      if (type !== PacketType.Publish) {
        unexpected++;
        return;
      }
      const qos = (header >> 1) & 3;
      if ((header & 1) === 0) notRetained++;
      if (qos !== run.qos) wrongQos++;
      if (qos > 0) acks.ack(PacketType.Puback, publishPacketId(buf, body));
      if (check.record(sequenceOf(buf, payloadOffset(buf, header, body), end)) && check.received === run.messages) completion.done();
    });
    completion.start();
    sub.socket.write(subscribePacket(`${prefix}/#`, run.qos));
    const ending = await completion.ended;
    const seconds = completion.activeSeconds;
    await sub.close();
    const cleared = await publishAcked(pub, run.messages, (i, id) => publishFrame(topicOf(i), 1, true, id, 0, 0), run.window, run.idleMs);
    return {
      expected: run.messages,
      received: check.received,
      duplicates: check.duplicates,
      error:
        firstError(clients) ??
        (stored < run.messages ? `only ${stored} of ${run.messages} retained messages acknowledged` : undefined) ??
        (unexpected + check.malformed > 0 ? `${unexpected + check.malformed} unexpected frames` : undefined) ??
        (notRetained > 0 ? `${notRetained} deliveries without RETAIN` : undefined) ??
        (wrongQos > 0 ? `${wrongQos} deliveries at a QoS other than ${run.qos}` : undefined) ??
        (cleared < run.messages ? `only ${cleared} of ${run.messages} clearing publishes acknowledged` : undefined) ??
        (ending === 'timeout' ? `timed out after ${ctx.timeoutMs} ms` : undefined),
      window: completion.window!,
      metrics: {
        retainedMsgsPerS: check.received / seconds,
        rssPerRetainedB: rssPer(rssBefore, rssStored, stored),
      },
    };
  } finally {
    await closeAll(clients);
  }
}

/**
 * Publishes `count` QoS 1 frames with at most `window` unacknowledged (refilled half a window at a
 * time); resolves with how many were acknowledged, once all were or after `idleMs` without a PUBACK.
 */
export function publishAcked(client: RawClient, count: number, frameOf: (i: number, packetId: number) => Buffer, window: number, idleMs: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let acked = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      client.onFrames(() => {});
      resolve(acked);
    };
    const idle = (): void => {
      clearTimeout(timer);
      timer = setTimeout(finish, idleMs);
    };
    const fill = (): void => {
      const frames: Buffer[] = [];
      for (; sent < count && sent - acked < window; sent++) frames.push(frameOf(sent, packetIdOf(sent)));
      if (frames.length > 0) client.socket.write(Buffer.concat(frames));
    };
    client.onFrames((_buf, header) => {
      if (header >> 4 !== PacketType.Puback) return;
      if (++acked === count) return finish();
      if (sent - acked <= window / 2) fill();
      idle();
    });
    if (count === 0) return finish();
    fill();
    idle();
  });
}
