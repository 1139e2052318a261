import { Binary, type Document } from 'mongodb';
import { decodeMessageProperties, encodeMessageProperties, type Message, type MessageContent, type OutgoingPacket, type QoS } from '@skynet-mqtt/core';

/**
 * Message ↔ document mapping. Pure, and unit-tested through BSON itself (bson's serialize and
 * deserialize need no server): what a document holds is exactly what comes back.
 *
 * Payloads are BSON binary (subtype 0), never strings: byte-exact whatever they hold. MQTT 5
 * properties, when a message has any, are one binary field in their wire encoding (core's codec):
 * every property, User Properties in order, exactly as they came.
 */
export interface MessageDocument {
  /** Message.id; none for a will (a will gets an id each time it is published). */
  id?: string;
  topic: string;
  payload: Binary;
  qos: QoS;
  retain: boolean;
  props?: Binary;
  /** Message.expiresAt (ms since the epoch): when an MQTT 5 message expires. */
  expires?: number;
}

/**
 * MongoDB refuses documents over 16 MiB. A message is stored in one document, so a payload must
 * leave room for the topic and the other fields: beyond this, writes are refused with a clear error.
 */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024 - 128 * 1024;

export function checkStorable(message: MessageContent): void {
  if (message.payload.length > MAX_PAYLOAD_BYTES) {
    throw new Error(
      `MongoDB: a ${message.payload.length}-byte payload on ${message.topic} does not fit in a MongoDB document (16 MiB): ` +
        `keep maxPacketSize below ${MAX_PAYLOAD_BYTES} bytes with this adapter`,
    );
  }
}

export function toBinary(bytes: Buffer): Binary {
  return new Binary(bytes);
}

/** A Buffer of its own (not a view of the driver's reply buffer) from what BSON decoded. */
export function fromBinary(value: unknown): Buffer {
  if (value instanceof Binary) return Buffer.from(value.value());
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') return Buffer.from(value); // written by someone else as text
  throw new Error(`not a binary payload: ${typeof value}`);
}

function qosOf(value: unknown): QoS {
  return value === 1 || value === 2 ? value : 0;
}

export function messageDocument(message: MessageContent & { id?: string }): MessageDocument {
  checkStorable(message);
  const doc: MessageDocument = { topic: message.topic, payload: toBinary(message.payload), qos: message.qos, retain: message.retain };
  if (message.id !== undefined) doc.id = message.id;
  const properties = encodeMessageProperties(message);
  if (properties) doc.props = toBinary(properties);
  if (message.expiresAt !== undefined) doc.expires = message.expiresAt;
  return doc;
}

/** A stored message's fields (topic, payload, qos, retain, props, expires) back as what it says. */
export function contentFromDocument(doc: Document): MessageContent {
  if (typeof doc.topic !== 'string') throw new Error('stored message without a topic');
  const message: MessageContent = { topic: doc.topic, payload: fromBinary(doc.payload), qos: qosOf(doc.qos), retain: doc.retain === true };
  if (doc.props !== undefined && doc.props !== null) {
    const { properties, subscriptionIdentifiers } = decodeMessageProperties(fromBinary(doc.props));
    if (properties) message.properties = properties;
    if (subscriptionIdentifiers) message.subscriptionIdentifiers = subscriptionIdentifiers;
  }
  if (typeof doc.expires === 'number') message.expiresAt = doc.expires;
  return message;
}

/** A stored message with its id ('' when it was stored without one). */
export function messageFromDocument(doc: Document): Message {
  return { id: typeof doc.id === 'string' ? doc.id : '', ...contentFromDocument(doc) };
}

/** `outgoing` collection: one document per unacknowledged packet of a session generation. */
export interface OutgoingDocument {
  c: string;
  g: string;
  mid: number;
  m: MessageDocument;
  released: boolean;
  /** First-sent order within the session. */
  o: number;
  expiresAt: Date;
}

export function outgoingFromDocument(doc: Pick<OutgoingDocument, 'mid' | 'm' | 'released'>): OutgoingPacket {
  const packet: OutgoingPacket = { ...messageFromDocument(doc.m), messageId: doc.mid };
  if (doc.released) packet.released = true;
  return packet;
}

/**
 * The Emitter's capped collection: ascoltatori's `{ topic, value, options }` shape, plus the
 * publishing instance `i` and its sequence number `s` (duplicates and gaps are told by them).
 * Markers (`kind`) carry no message: 'start' (where an instance began reading), 'sync'.
 */
export interface PubsubDocument {
  i: string;
  s: number;
  id?: string;
  topic?: string;
  value?: Binary;
  options?: { qos: QoS; retain: boolean };
  props?: Binary;
  expires?: number;
  kind?: 'start' | 'sync';
}

export function pubsubDocument(instance: string, seq: number, message: Message): PubsubDocument {
  const { id, topic, payload, qos, retain, props, expires } = messageDocument(message);
  const doc: PubsubDocument = { i: instance, s: seq, id: id ?? '', topic, value: payload, options: { qos, retain } };
  if (props) doc.props = props;
  if (expires !== undefined) doc.expires = expires;
  return doc;
}

export function markerDocument(instance: string, seq: number, kind: 'start' | 'sync'): PubsubDocument {
  return { i: instance, s: seq, kind };
}

/** What a pubsub document says, or why it is not one of ours. */
export type PubsubEntry =
  | { publisher: string; seq: number; marker: 'start' | 'sync' }
  | { publisher: string; seq: number; message: Message }
  | { invalid: string };

export function readPubsub(doc: Record<string, unknown>): PubsubEntry {
  const { i, s, kind } = doc;
  if (typeof i !== 'string' || typeof s !== 'number' || !Number.isSafeInteger(s)) return { invalid: 'not written by a Skynet MQTT emitter' };
  if (kind === 'start' || kind === 'sync') return { publisher: i, seq: s, marker: kind };
  const options = (doc.options ?? {}) as { qos?: unknown; retain?: unknown };
  try {
    return { publisher: i, seq: s, message: messageFromDocument({ id: doc.id, topic: doc.topic, payload: doc.value, qos: options.qos, retain: options.retain, props: doc.props, expires: doc.expires }) };
  } catch (error) {
    return { invalid: (error as Error).message };
  }
}

/** `records` collection: a plugin's keyed value (Store.putRecord). */
export interface RecordDocument {
  col: string;
  key: string;
  value: Binary;
  /** null: lives until deleted. */
  expiresAt: Date | null;
}
