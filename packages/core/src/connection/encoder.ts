import type { Message, QoS } from '../types.js';
import { varintLength as remainingLengthBytes, writeVarint as writeRemainingLength, type OutgoingProperties } from './properties.js';
import { connackReturnCode } from './reason-codes.js';

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
type EncodedMessage = Message & { [ENCODED]?: { topic: string; payload: Buffer; bytes: PublishBytes } };

/** Payloads from this size on are not copied behind their PUBLISH header: both go to the socket as they are. */
const SPLIT_PAYLOAD = 4096;

/**
 * A PUBLISH whose payload was not copied into one buffer with its header (SPLIT_PAYLOAD): the
 * connection writes both in one system call (writev). A large payload is then copied once, by the
 * kernel, on its way from publisher to subscriber.
 */
export class SplitPublish {
  constructor(
    readonly head: Buffer,
    readonly payload: Buffer,
  ) {}

  get length(): number {
    return this.head.length + this.payload.length;
  }
}

/** An encoded PUBLISH: one buffer, or a header and a payload (SplitPublish). */
export type PublishBytes = Buffer | SplitPublish;

/**
 * A PUBLISH: one buffer, or a SplitPublish when the payload is SPLIT_PAYLOAD or larger.
 * `properties` is MQTT 5's encoded property list (its length first), given only for a 5.0
 * client: a 3.1/3.1.1 PUBLISH has none.
 */
export function encodePublish(topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean, messageId: number, properties?: Buffer): PublishBytes {
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + (properties === undefined ? 0 : properties.length) + payload.length;
  const split = payload.length >= SPLIT_PAYLOAD;
  const buffer = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining - (split ? payload.length : 0));
  buffer[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
  let offset = writeRemainingLength(buffer, 1, remaining);
  buffer.writeUInt16BE(topicLength, offset);
  offset += 2;
  offset += buffer.write(topic, offset, 'utf8');
  if (qos > 0) {
    buffer.writeUInt16BE(messageId, offset);
    offset += 2;
  }
  if (properties !== undefined) offset += properties.copy(buffer, offset);
  if (split) return new SplitPublish(buffer, payload);
  payload.copy(buffer, offset);
  return buffer;
}

/** The QoS 0, retain 0 encoding of a message, made once and shared by every subscriber. */
export function encodeSharedQos0(message: EncodedMessage): PublishBytes {
  const cached = message[ENCODED];
  if (cached && cached.payload === message.payload && cached.topic === message.topic) return cached.bytes;
  const bytes = encodePublish(message.topic, message.payload, 0, false, false, 0);
  message[ENCODED] = { topic: message.topic, payload: message.payload, bytes };
  return bytes;
}

/**
 * The packets a server sends, other than PUBLISH, in one shape for every protocol level: reason
 * codes are MQTT 5's, and the 3.1.1 encoding below maps them to what 3.1.1 can say (or leaves
 * them out with the properties, which 3.1.1 does not have).
 */
export type ServerPacket =
  | { cmd: 'connack'; reasonCode: number; sessionPresent: boolean; properties?: OutgoingProperties }
  | { cmd: 'suback'; messageId: number; granted: number[]; properties?: OutgoingProperties }
  | { cmd: 'unsuback'; messageId: number; granted?: number[]; properties?: OutgoingProperties }
  | { cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'; messageId: number; reasonCode?: number; properties?: OutgoingProperties }
  | { cmd: 'pingresp' }
  | { cmd: 'disconnect' | 'auth'; reasonCode: number; properties?: OutgoingProperties };

/** First bytes by packet type, reserved flags included (PUBREL's are 0010). [MQTT-2.2.2-1] */
const ACK_HEADER = { unsuback: 0xb0, puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;
export const PINGRESP = Buffer.from([0xd0, 0x00]);

/** A packet for a 3.1/3.1.1 client. */
export function encodePacket(packet: ServerPacket): Buffer {
  switch (packet.cmd) {
    case 'connack': {
      const returnCode = connackReturnCode(packet.reasonCode);
      // [MQTT-3.2.2-1] session present is 0 unless the CONNECT was accepted.
      return Buffer.from([0x20, 0x02, packet.sessionPresent && returnCode === 0 ? 1 : 0, returnCode]);
    }
    case 'suback': {
      const remaining = 2 + packet.granted.length;
      const bytes = Buffer.allocUnsafe(1 + remainingLengthBytes(remaining) + remaining);
      bytes[0] = 0x90;
      let offset = writeRemainingLength(bytes, 1, remaining);
      bytes.writeUInt16BE(packet.messageId, offset);
      offset += 2;
      // 3.1.1 has one failure code. [MQTT-3.9.3-2]
      for (const code of packet.granted) bytes[offset++] = code < 0x80 ? code : 0x80;
      return bytes;
    }
    case 'pingresp':
      return PINGRESP;
    case 'disconnect':
    case 'auth':
      throw new Error(`MQTT 3.1.1 has no server ${packet.cmd.toUpperCase()}`);
    default:
      return Buffer.from([ACK_HEADER[packet.cmd], 0x02, packet.messageId >> 8, packet.messageId & 0xff]);
  }
}
