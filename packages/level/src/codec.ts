import { decodeMessageProperties, encodeMessageProperties, packSubscription, unpackSubscription, type Message, type MessageContent, type OutgoingPacket, type QoS, type Subscription } from '@skynet-mqtt/core';

/**
 * Compact binary values. A Message is
 *   flags (1 byte) | [id length (uint16 BE) | id (UTF-8)] | topic length (uint32 BE) | topic (UTF-8)
 *   | [expiresAt (float64 ms)] | [properties] | payload (rest)
 * so payloads stay binary-safe and need no base64 or JSON escaping.
 * Flags: bits 0-1 QoS, bit 2 retain, bit 3 `released: true`, bit 4 `released: false`
 * (two bits so an explicit `false` round-trips apart from an absent property), bit 5: MQTT 5
 * properties (and a subscriber's copy's subscription ids) follow, encoded as on the wire (their length first), bit 6: the message's expiry
 * time follows the topic, bit 7: the message id comes first (absent for a will, and in values
 * written by layout version 1: read as id '').
 */

const QOS_MASK = 0b0000_0011;
const RETAIN = 0b0000_0100;
const RELEASED_TRUE = 0b0000_1000;
const RELEASED_FALSE = 0b0001_0000;
const HAS_PROPERTIES = 0b0010_0000;
const HAS_EXPIRY = 0b0100_0000;
const HAS_ID = 0b1000_0000;

function encodeMessageWithFlags(message: MessageContent & { id?: string }, extraFlags: number): Buffer {
  const id = message.id ? Buffer.from(message.id, 'utf8') : null;
  if (id && id.length > 0xffff) throw new Error(`message id longer than 65535 bytes: ${message.id!.slice(0, 40)}...`);
  const topic = Buffer.from(message.topic, 'utf8');
  const properties = encodeMessageProperties(message);
  const idLength = id ? 2 + id.length : 0;
  const expiryLength = message.expiresAt === undefined ? 0 : 8;
  const out = Buffer.allocUnsafe(1 + idLength + 4 + topic.length + expiryLength + (properties?.length ?? 0) + message.payload.length);
  out[0] =
    (message.qos & QOS_MASK) | (message.retain ? RETAIN : 0) | (properties ? HAS_PROPERTIES : 0) | (expiryLength ? HAS_EXPIRY : 0) | (id ? HAS_ID : 0) | extraFlags;
  let offset = 1;
  if (id) {
    offset = out.writeUInt16BE(id.length, offset);
    offset += id.copy(out, offset);
  }
  offset = out.writeUInt32BE(topic.length, offset);
  offset += topic.copy(out, offset);
  if (message.expiresAt !== undefined) offset = out.writeDoubleBE(message.expiresAt, offset);
  if (properties) offset += properties.copy(out, offset);
  out.set(message.payload, offset);
  return out;
}

/** A will has no id of its own (it gets one each time it is published). */
export function encodeMessage(message: MessageContent & { id?: string }): Buffer {
  return encodeMessageWithFlags(message, 0);
}

function decodeFlagsAndMessage(buffer: Buffer): { flags: number; message: Message } {
  if (buffer.length < 5) throw new Error('corrupt stored message: too short');
  const flags = buffer[0]!;
  let offset = 1;
  let id = '';
  if (flags & HAS_ID) {
    const idEnd = offset + 2 + buffer.readUInt16BE(offset);
    if (idEnd + 4 > buffer.length) throw new Error('corrupt stored message: id overruns the value');
    id = buffer.toString('utf8', offset + 2, idEnd);
    offset = idEnd;
  }
  const topicStart = offset + 4;
  const topicEnd = topicStart + buffer.readUInt32BE(offset);
  if (topicEnd > buffer.length) throw new Error('corrupt stored message: topic overruns the value');
  let payloadStart = topicEnd;
  let expiresAt: number | undefined;
  if (flags & HAS_EXPIRY) {
    expiresAt = buffer.readDoubleBE(payloadStart);
    payloadStart += 8;
  }
  let properties;
  let subscriptionIdentifiers;
  if (flags & HAS_PROPERTIES) ({ properties, subscriptionIdentifiers, next: payloadStart } = decodeMessageProperties(buffer, payloadStart));
  const message: Message = {
    id,
    topic: buffer.toString('utf8', topicStart, topicEnd),
    // A copy, so a returned payload does not pin (or alias) the database's read buffer.
    payload: Buffer.from(buffer.subarray(payloadStart)),
    qos: (flags & QOS_MASK) as QoS,
    retain: (flags & RETAIN) !== 0,
  };
  if (properties) message.properties = properties;
  if (expiresAt !== undefined) message.expiresAt = expiresAt;
  if (subscriptionIdentifiers) message.subscriptionIdentifiers = subscriptionIdentifiers;
  return { flags, message };
}

export function decodeMessage(buffer: Buffer): Message {
  return decodeFlagsAndMessage(buffer).message;
}

/** An offline-queue entry: expiresAt (float64 ms) | Message. */
export interface QueueEntry {
  expiresAt: number;
  message: Message;
}

export function encodeQueueEntry(entry: QueueEntry): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeDoubleBE(entry.expiresAt, 0);
  return Buffer.concat([head, encodeMessage(entry.message)]);
}

export function decodeQueueEntry(buffer: Buffer): QueueEntry {
  return { expiresAt: buffer.readDoubleBE(0), message: decodeMessage(buffer.subarray(8)) };
}

/** An outgoing in-flight entry: expiresAt (float64 ms) | messageId (uint16) | Message. */
export interface OutgoingEntry {
  expiresAt: number;
  packet: OutgoingPacket;
}

export function encodeOutgoingEntry(entry: OutgoingEntry): Buffer {
  const head = Buffer.allocUnsafe(10);
  head.writeDoubleBE(entry.expiresAt, 0);
  head.writeUInt16BE(entry.packet.messageId, 8);
  const released = entry.packet.released === true ? RELEASED_TRUE : entry.packet.released === false ? RELEASED_FALSE : 0;
  return Buffer.concat([head, encodeMessageWithFlags(entry.packet, released)]);
}

export function decodeOutgoingEntry(buffer: Buffer): OutgoingEntry {
  const { flags, message } = decodeFlagsAndMessage(buffer.subarray(10));
  const packet: OutgoingPacket = { ...message, messageId: buffer.readUInt16BE(8) };
  if (flags & RELEASED_TRUE) packet.released = true;
  else if (flags & RELEASED_FALSE) packet.released = false;
  return { expiresAt: buffer.readDoubleBE(0), packet };
}

/** Only the head of an outgoing entry, for rebuilding the id → position map without the payload. */
export function peekOutgoingHead(buffer: Buffer): { expiresAt: number; messageId: number } {
  return { expiresAt: buffer.readDoubleBE(0), messageId: buffer.readUInt16BE(8) };
}

/**
 * A durable session: flags (bit 0 connected, bit 1 has an expiry interval) | expiresAt (float64
 * ms) | [expiryInterval (float64 ms): MQTT 5's Session Expiry Interval].
 */
export interface SessionRecord {
  connected: boolean;
  expiresAt: number;
  expiryInterval?: number;
}

const HAS_INTERVAL = 0b10;

export function encodeSession(record: SessionRecord): Buffer {
  const withInterval = record.expiryInterval !== undefined;
  const out = Buffer.allocUnsafe(withInterval ? 17 : 9);
  out[0] = (record.connected ? 1 : 0) | (withInterval ? HAS_INTERVAL : 0);
  out.writeDoubleBE(record.expiresAt, 1);
  if (withInterval) out.writeDoubleBE(record.expiryInterval!, 9);
  return out;
}

export function decodeSession(buffer: Buffer): SessionRecord {
  const record: SessionRecord = { connected: (buffer[0]! & 1) === 1, expiresAt: buffer.readDoubleBE(1) };
  if (buffer[0]! & HAS_INTERVAL) record.expiryInterval = buffer.readDoubleBE(9);
  return record;
}

/**
 * A subscription value: its granted QoS, one byte, as 3.1.1 subscriptions are; with MQTT 5 options
 * or a Subscription Identifier, the packed number (packSubscription) as a float64 instead.
 */
export function encodeSubscription(subscription: Subscription): Buffer {
  const packed = packSubscription(subscription);
  if (packed < 4) return Buffer.of(packed);
  const out = Buffer.allocUnsafe(8);
  out.writeDoubleBE(packed, 0);
  return out;
}

export function decodeSubscription(topic: string, buffer: Buffer): Subscription {
  return unpackSubscription(topic, buffer.length === 1 ? buffer[0]! & QOS_MASK : buffer.readDoubleBE(0));
}
