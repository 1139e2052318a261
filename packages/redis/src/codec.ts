import { decodeMessageProperties, encodeMessageProperties, type Message, type OutgoingPacket, type QoS } from '@skynet-mqtt/core';

/**
 * Binary encoding of messages in Redis values and pub/sub payloads: a version byte, a flags
 * byte, an optional packet id, the topic length and topic, then the payload bytes untouched.
 * Compact, and byte-exact where JSON or msgpack of strings would not be (ascoltatori#99).
 *
 *   0: version (1)   1: flags = qos | retain << 2 | released << 3 | hasMessageId << 4 | hasProperties << 5
 *                                   | hasExpiry << 6
 *   [2..3: messageId, big-endian]   [expiresAt, float64 ms]   then: topic byte length (u16 BE),
 *   topic (UTF-8), [MQTT 5 properties, encoded as on the wire, their length first], payload
 */
const VERSION = 1;
const RETAIN = 0b100;
const RELEASED = 0b1000;
const HAS_ID = 0b10000;
const HAS_PROPERTIES = 0b100000;
const HAS_EXPIRY = 0b1000000;

function encode(message: Message, messageId: number | undefined, released: boolean): Buffer {
  const topicLength = Buffer.byteLength(message.topic);
  if (topicLength > 0xffff) throw new Error(`topic longer than 65535 bytes: ${message.topic.slice(0, 40)}...`);
  const idBytes = messageId === undefined ? 0 : 2;
  const properties = message.properties ? encodeMessageProperties(message.properties) : undefined;
  const expiryBytes = message.expiresAt === undefined ? 0 : 8;
  const buffer = Buffer.allocUnsafe(4 + idBytes + expiryBytes + topicLength + (properties?.length ?? 0) + message.payload.length);
  buffer[0] = VERSION;
  buffer[1] =
    message.qos | (message.retain ? RETAIN : 0) | (released ? RELEASED : 0) | (idBytes ? HAS_ID : 0) | (properties ? HAS_PROPERTIES : 0) | (expiryBytes ? HAS_EXPIRY : 0);
  let offset = 2;
  if (messageId !== undefined) offset = buffer.writeUInt16BE(messageId, offset);
  if (message.expiresAt !== undefined) offset = buffer.writeDoubleBE(message.expiresAt, offset);
  offset = buffer.writeUInt16BE(topicLength, offset);
  offset += buffer.write(message.topic, offset, 'utf8');
  if (properties) offset += properties.copy(buffer, offset);
  message.payload.copy(buffer, offset);
  return buffer;
}

interface Decoded {
  message: Message;
  messageId: number | undefined;
  released: boolean;
}

function decode(buffer: Buffer): Decoded {
  if (buffer.length < 4 || buffer[0] !== VERSION) throw new Error(`not a Skynet MQTT message (version byte ${buffer[0]})`);
  const flags = buffer[1]!;
  let offset = 2;
  let messageId: number | undefined;
  if (flags & HAS_ID) {
    messageId = buffer.readUInt16BE(offset);
    offset += 2;
  }
  let expiresAt: number | undefined;
  if (flags & HAS_EXPIRY) {
    expiresAt = buffer.readDoubleBE(offset);
    offset += 8;
  }
  const topicLength = buffer.readUInt16BE(offset);
  offset += 2;
  const topic = buffer.toString('utf8', offset, offset + topicLength);
  offset += topicLength;
  let properties;
  if (flags & HAS_PROPERTIES) ({ properties, next: offset } = decodeMessageProperties(buffer, offset));
  // A copy, so that a payload kept by the broker does not pin a larger reply buffer.
  const payload = Buffer.from(buffer.subarray(offset));
  const message: Message = { topic, payload, qos: (flags & 0b11) as QoS, retain: (flags & RETAIN) !== 0 };
  if (properties) message.properties = properties;
  if (expiresAt !== undefined) message.expiresAt = expiresAt;
  return { message, messageId, released: (flags & RELEASED) !== 0 };
}

export function encodeMessage(message: Message): Buffer {
  return encode(message, undefined, false);
}

export function decodeMessage(buffer: Buffer): Message {
  return decode(buffer).message;
}

export function encodeOutgoing(packet: OutgoingPacket): Buffer {
  return encode(packet, packet.messageId, packet.released === true);
}

export function decodeOutgoing(buffer: Buffer): OutgoingPacket {
  const { message, messageId, released } = decode(buffer);
  if (messageId === undefined) throw new Error(`stored outgoing packet on ${message.topic} has no message id`);
  const packet: OutgoingPacket = { ...message, messageId };
  if (released) packet.released = true;
  return packet;
}

/** A queued message with its expiry (epoch ms, 8-byte double) in front, checked when taken. */
export function encodeQueued(message: Message, expiresAt: number): Buffer {
  const body = encodeMessage(message);
  const head = Buffer.allocUnsafe(8);
  head.writeDoubleBE(expiresAt, 0);
  return Buffer.concat([head, body]);
}

export function decodeQueued(buffer: Buffer): { message: Message; expiresAt: number } {
  return { expiresAt: buffer.readDoubleBE(0), message: decodeMessage(buffer.subarray(8)) };
}
