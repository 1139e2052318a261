import type { Message, QoS } from '../types.js';

/**
 * Encoding of every packet a server sends, without mqtt-packet's generic generator (which also
 * builds a cache of 65,536 buffers, about 6 MB of heap, when it is loaded): one allocation per
 * packet. A QoS 0 PUBLISH is the same bytes for every subscriber, so it is encoded once per
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

/** Writes the fixed header's remaining length at `offset`; returns the offset after it. [MQTT-2.2.3] */
function writeRemainingLength(buffer: Buffer, offset: number, length: number): number {
  do {
    let digit = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) digit |= 0x80;
    buffer[offset++] = digit;
  } while (length > 0);
  return offset;
}

export function encodePublish(topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean, messageId: number): Buffer {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + payload.length;
  const buffer = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
  buffer[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  let offset = writeRemainingLength(buffer, 1, remaining);
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

/** The packets a server sends, other than PUBLISH. */
export type ServerPacket =
  | { cmd: 'connack'; returnCode: number; sessionPresent: boolean }
  | { cmd: 'suback'; messageId: number; granted: number[] }
  | { cmd: 'unsuback' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'; messageId: number }
  | { cmd: 'pingresp' };

/** First bytes by packet type, reserved flags included (PUBREL's are 0010). [MQTT-2.2.2-1] */
const ACK_HEADER = { unsuback: 0xb0, puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
const PINGRESP = Buffer.from([0xd0, 0x00]);

export function encodePacket(packet: ServerPacket): Buffer {
  switch (packet.cmd) {
    case 'connack':
      // [MQTT-3.2.2-1] session present is 0 unless the CONNECT was accepted.
      return Buffer.from([0x20, 0x02, packet.sessionPresent && packet.returnCode === 0 ? 1 : 0, packet.returnCode]);
    case 'suback': {
      const remaining = 2 + packet.granted.length;
      const bytes = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
      bytes[0] = 0x90;
      let offset = writeRemainingLength(bytes, 1, remaining);
      bytes.writeUInt16BE(packet.messageId, offset);
      offset += 2;
      for (const code of packet.granted) bytes[offset++] = code;
      return bytes;
    }
    case 'pingresp':
      return PINGRESP;
    default:
      return Buffer.from([ACK_HEADER[packet.cmd], 0x02, packet.messageId >> 8, packet.messageId & 0xff]);
  }
}
