// Pre-encoded MQTT 3.1.1 packets for the load generator. Everything is built once, before a
// measurement, with mqtt-packet's encoder; the hot path only slices and writes these buffers.
import { generate } from 'mqtt-packet';

export type QoS = 0 | 1 | 2;

/** MQTT control packet types (high nibble of the first byte). */
export const enum PacketType {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Pubrec = 5,
  Pubrel = 6,
  Pubcomp = 7,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
}

/**
 * Payload layout shared by every publisher and receiver:
 * bytes [0,4) sequence number (uint32 LE), [4,12) send time in ns (float64 LE,
 * process.hrtime clock: the same monotonic clock in every thread), the rest filler.
 */
export const SEQ_OFFSET = 0;
export const STAMP_OFFSET = 4;
export const MIN_PAYLOAD = 12;

export function connectPacket(clientId: string): Buffer {
  // keepalive 0: no PINGREQ needed, so an idle subscriber is never dropped during a long run.
  return generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId });
}

export function subscribePacket(filter: string, qos: QoS): Buffer {
  return generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
}

export const DISCONNECT: Buffer = generate({ cmd: 'disconnect' });

/** A 4-byte acknowledgement (PUBACK, PUBREC, PUBREL or PUBCOMP) for `id`, written into `out` at `at`. */
export function writeAck(out: Buffer, at: number, type: PacketType, id: number): void {
  out[at] = (type << 4) | (type === PacketType.Pubrel ? 0x02 : 0);
  out[at + 1] = 2;
  out[at + 2] = id >> 8;
  out[at + 3] = id & 0xff;
}

export interface PublishBatch {
  /** Every frame back to back; frame i starts at i * frameLength. */
  readonly frames: Buffer;
  readonly frameLength: number;
  readonly count: number;
  /** Offset of the payload inside one frame (to patch the time stamp at send time). */
  readonly payloadOffset: number;
}

/** Packet id of the i-th message of a QoS 1/2 batch: cycles through 1..65535. */
export function packetIdOf(i: number): number {
  return (i % 65535) + 1;
}

/**
 * `count` PUBLISH frames carrying sequence numbers firstSeq, firstSeq+1, ... in one buffer.
 * One frame is encoded by mqtt-packet; the others are copies with the sequence number (and packet
 * id for QoS > 0) patched in, since every frame has the same length.
 */
export function publishBatch(topic: string, qos: QoS, payloadSize: number, firstSeq: number, count: number): PublishBatch {
  if (payloadSize < MIN_PAYLOAD) throw new Error(`payload must be at least ${MIN_PAYLOAD} bytes`);
  const payload = Buffer.alloc(payloadSize, 0x61);
  const template = qos === 0
    ? generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false })
    : generate({ cmd: 'publish', topic, payload, qos, messageId: 1, retain: false, dup: false });
  const frameLength = template.length;
  const payloadOffset = frameLength - payloadSize;
  const idOffset = payloadOffset - 2; // only meaningful for QoS > 0
  const frames = Buffer.allocUnsafe(frameLength * count);
  for (let i = 0; i < count; i++) {
    const at = i * frameLength;
    template.copy(frames, at);
    frames.writeUInt32LE(firstSeq + i, at + payloadOffset + SEQ_OFFSET);
    frames.writeDoubleLE(0, at + payloadOffset + STAMP_OFFSET);
    if (qos > 0) frames.writeUInt16BE(packetIdOf(i), at + idOffset);
  }
  return { frames, frameLength, count, payloadOffset };
}

/**
 * One PUBLISH of `topic` whose payload carries `seq` (MIN_PAYLOAD bytes at least), or with an
 * empty payload when `payloadSize` is 0 (what clears a retained message). Encoded by hand: the
 * retained and routes scenarios build hundreds of thousands of frames with different topics.
 */
export function publishFrame(topic: string, qos: QoS, retain: boolean, id: number, payloadSize: number, seq: number): Buffer {
  if (payloadSize !== 0 && payloadSize < MIN_PAYLOAD) throw new Error(`payload must be 0 or at least ${MIN_PAYLOAD} bytes`);
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + payloadSize;
  let lengthBytes = 1;
  for (let r = remaining; r >= 128; r = Math.floor(r / 128)) lengthBytes++;
  const frame = Buffer.alloc(1 + lengthBytes + remaining, 0x61);
  frame[0] = (PacketType.Publish << 4) | (qos << 1) | (retain ? 1 : 0);
  let at = 1;
  for (let r = remaining; ; ) {
    const digit = r % 128;
    r = Math.floor(r / 128);
    frame[at++] = r > 0 ? digit | 0x80 : digit;
    if (r === 0) break;
  }
  frame.writeUInt16BE(topicLength, at);
  at += 2 + frame.write(topic, at + 2);
  if (qos > 0) {
    frame.writeUInt16BE(id, at);
    at += 2;
  }
  if (payloadSize > 0) {
    frame.writeUInt32LE(seq, at + SEQ_OFFSET);
    frame.writeDoubleLE(0, at + STAMP_OFFSET);
  }
  return frame;
}
