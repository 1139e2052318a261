import { decodeMessageProperties, encodeMessageProperties, type Message, type MessageContent, type OutgoingPacket, type QoS } from '@skynet-mqtt/core';

/**
 * Binary encoding of messages in Redis values and stream entries: a version byte, a flags byte,
 * an optional packet id, an optional expiry time, the message id, the topic, the MQTT 5 properties
 * if any, then the payload bytes untouched. Compact, and byte-exact where JSON or msgpack of
 * strings would not be (ascoltatori#99).
 *
 *   0: version (2)   1: flags = qos | retain << 2 | released << 3 | hasPacketId << 4 | hasProperties << 5
 *                                   | hasExpiry << 6
 *   [2..3: packet id (OutgoingPacket.messageId), big-endian]   [expiresAt, float64 ms]
 *   then: message id byte length (u16 BE), message id (UTF-8), topic byte length (u16 BE),
 *   topic (UTF-8), [MQTT 5 properties and a subscriber's copy's subscription ids, encoded as on
 *   the wire, their length first], payload
 *
 * Version 1, written before messages had ids, is the same without the message id; it is read
 * with an empty id.
 */
const VERSION = 2;
const VERSION_WITHOUT_ID = 1;
const RETAIN = 0b100;
const RELEASED = 0b1000;
const HAS_PACKET_ID = 0b10000;
const HAS_PROPERTIES = 0b100000;
const HAS_EXPIRY = 0b1000000;

function byteLength(text: string, what: string): number {
  const length = Buffer.byteLength(text);
  if (length > 0xffff) throw new Error(`${what} longer than 65535 bytes: ${text.slice(0, 40)}...`);
  return length;
}

/** A will has no id of its own (it gets one each time it is published): it is written with an empty one. */
function encode(message: MessageContent & { id?: string }, packetId: number | undefined, released: boolean): Buffer {
  const id = message.id ?? '';
  const idLength = byteLength(id, 'message id');
  const topicLength = byteLength(message.topic, 'topic');
  const packetIdBytes = packetId === undefined ? 0 : 2;
  const properties = encodeMessageProperties(message);
  const expiryBytes = message.expiresAt === undefined ? 0 : 8;
  const buffer = Buffer.allocUnsafe(6 + packetIdBytes + expiryBytes + idLength + topicLength + (properties?.length ?? 0) + message.payload.length);
  buffer[0] = VERSION;
  buffer[1] =
    message.qos |
    (message.retain ? RETAIN : 0) |
    (released ? RELEASED : 0) |
    (packetIdBytes ? HAS_PACKET_ID : 0) |
    (properties ? HAS_PROPERTIES : 0) |
    (expiryBytes ? HAS_EXPIRY : 0);
  let offset = 2;
  if (packetId !== undefined) offset = buffer.writeUInt16BE(packetId, offset);
  if (message.expiresAt !== undefined) offset = buffer.writeDoubleBE(message.expiresAt, offset);
  offset = buffer.writeUInt16BE(idLength, offset);
  offset += buffer.write(id, offset, 'utf8');
  offset = buffer.writeUInt16BE(topicLength, offset);
  offset += buffer.write(message.topic, offset, 'utf8');
  if (properties) offset += properties.copy(buffer, offset);
  message.payload.copy(buffer, offset);
  return buffer;
}

interface Decoded {
  message: Message;
  packetId: number | undefined;
  released: boolean;
}

function decode(buffer: Buffer): Decoded {
  const version = buffer[0];
  if (buffer.length < 4 || (version !== VERSION && version !== VERSION_WITHOUT_ID)) {
    throw new Error(`not a Skynet MQTT message (version byte ${version})`);
  }
  const flags = buffer[1]!;
  let offset = 2;
  let packetId: number | undefined;
  if (flags & HAS_PACKET_ID) {
    packetId = buffer.readUInt16BE(offset);
    offset += 2;
  }
  let expiresAt: number | undefined;
  if (flags & HAS_EXPIRY) {
    expiresAt = buffer.readDoubleBE(offset);
    offset += 8;
  }
  let id = '';
  if (version === VERSION) {
    const idLength = buffer.readUInt16BE(offset);
    id = buffer.toString('utf8', offset + 2, offset + 2 + idLength);
    offset += 2 + idLength;
  }
  const topicLength = buffer.readUInt16BE(offset);
  offset += 2;
  const topic = buffer.toString('utf8', offset, offset + topicLength);
  offset += topicLength;
  let properties;
  let subscriptionIdentifiers;
  if (flags & HAS_PROPERTIES) ({ properties, subscriptionIdentifiers, next: offset } = decodeMessageProperties(buffer, offset));
  // A copy, so that a payload kept by the broker does not pin a larger reply buffer.
  const payload = Buffer.from(buffer.subarray(offset));
  const message: Message = { id, topic, payload, qos: (flags & 0b11) as QoS, retain: (flags & RETAIN) !== 0 };
  if (properties) message.properties = properties;
  if (expiresAt !== undefined) message.expiresAt = expiresAt;
  if (subscriptionIdentifiers) message.subscriptionIdentifiers = subscriptionIdentifiers;
  return { message, packetId, released: (flags & RELEASED) !== 0 };
}

export function encodeMessage(message: MessageContent & { id?: string }): Buffer {
  return encode(message, undefined, false);
}

export function decodeMessage(buffer: Buffer): Message {
  return decode(buffer).message;
}

export function encodeOutgoing(packet: OutgoingPacket): Buffer {
  return encode(packet, packet.messageId, packet.released === true);
}

export function decodeOutgoing(buffer: Buffer): OutgoingPacket {
  const { message, packetId, released } = decode(buffer);
  if (packetId === undefined) throw new Error(`stored outgoing packet on ${message.topic} has no packet id`);
  const packet: OutgoingPacket = { ...message, messageId: packetId };
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
