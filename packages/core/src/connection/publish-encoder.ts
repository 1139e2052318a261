import type { Message, QoS } from '../types.js';

/**
 * PUBLISH encoding on the delivery path, without mqtt-packet's generic generator: one allocation
 * per packet. A QoS 0 packet is the same bytes for every subscriber, so it is encoded once per
 * message and shared (no packet id is in it, so nothing of one client leaks to another).
 */
const ENCODED = Symbol('QoS 0 encoding');
/**
 * A message with its shared encoding attached: a property, not a WeakMap, whose ephemerons cost
 * the GC dearly at high message rates. A copy made with `{ ...message, payload }` carries the
 * property along, so the encoding records what it was made from and is checked before use.
 */
type EncodedMessage = Message & { [ENCODED]?: { topic: string; payload: Buffer; bytes: Buffer } };

function remainingLengthBytes(length: number): number {
  return length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4;
}

export function encodePublish(topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean, messageId: number): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + payload.length;
  const buffer = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  buffer[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  let offset = 1;
  let length = remaining;
  do {
    let digit = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) digit |= 0x80;
    buffer[offset++] = digit;
  } while (length > 0);
  buffer.writeUInt16BE(topicLength, offset);
  offset += 2;
  offset += buffer.write(topic, offset, 'utf8');
  if (qos > 0) {
    buffer.writeUInt16BE(messageId, offset);
    offset += 2;
  }
  payload.copy(buffer, offset);
  return buffer;
}

/** The QoS 0, retain 0 encoding of a message, made once and shared by every subscriber. */
export function encodeSharedQos0(message: EncodedMessage): Buffer {
  const cached = message[ENCODED];
  if (cached && cached.payload === message.payload && cached.topic === message.topic) return cached.bytes;
  const bytes = encodePublish(message.topic, message.payload, 0, false, false, 0);
  message[ENCODED] = { topic: message.topic, payload: message.payload, bytes };
  return bytes;
}
