import type { Message, MessageContent, MessageProperties, UserProperty } from '../types.js';
import { utf8BytesError } from './decode/utf8.js';
import { ProtocolViolation, Reason } from './reason-codes.js';

/**
 * MQTT 5 properties on the wire (section 2.2.2): a Variable Byte Integer length, then each
 * property as its identifier and a value of the identifier's type. Names are mqtt-packet's (and
 * so mqtt.js's), except `userProperties`, kept here as ordered name/value pairs. [MQTT-3.3.2-18]
 */
type Kind = 'bool' | 'byte' | 'u16' | 'u32' | 'varint' | 'string' | 'binary' | 'pair';

const PROPERTIES = {
  payloadFormatIndicator: [0x01, 'byte'],
  messageExpiryInterval: [0x02, 'u32'],
  contentType: [0x03, 'string'],
  responseTopic: [0x08, 'string'],
  correlationData: [0x09, 'binary'],
  subscriptionIdentifier: [0x0b, 'varint'],
  sessionExpiryInterval: [0x11, 'u32'],
  assignedClientIdentifier: [0x12, 'string'],
  serverKeepAlive: [0x13, 'u16'],
  authenticationMethod: [0x15, 'string'],
  authenticationData: [0x16, 'binary'],
  requestProblemInformation: [0x17, 'byte'],
  willDelayInterval: [0x18, 'u32'],
  requestResponseInformation: [0x19, 'byte'],
  responseInformation: [0x1a, 'string'],
  serverReference: [0x1c, 'string'],
  reasonString: [0x1f, 'string'],
  receiveMaximum: [0x21, 'u16'],
  topicAliasMaximum: [0x22, 'u16'],
  topicAlias: [0x23, 'u16'],
  maximumQoS: [0x24, 'byte'],
  retainAvailable: [0x25, 'bool'],
  userProperties: [0x26, 'pair'],
  maximumPacketSize: [0x27, 'u32'],
  wildcardSubscriptionAvailable: [0x28, 'bool'],
  subscriptionIdentifiersAvailable: [0x29, 'bool'],
  sharedSubscriptionAvailable: [0x2a, 'bool'],
} as const satisfies Record<string, readonly [number, Kind]>;

export type PropertyName = keyof typeof PROPERTIES;

type ValueOf<K extends Kind, Flag> = K extends 'string' ? string : K extends 'binary' ? Buffer : K extends 'pair' ? UserProperty[] : K extends 'bool' | 'byte' ? Flag : number;

/** Properties the server writes: any of the table, values as their types say. */
export type OutgoingProperties = {
  [N in PropertyName]?: N extends 'subscriptionIdentifier' ? number | number[] : ValueOf<(typeof PROPERTIES)[N][1], (typeof PROPERTIES)[N][1] extends 'bool' ? boolean : number | boolean>;
};

const BY_ID = new Map<number, [PropertyName, Kind]>(Object.entries(PROPERTIES).map(([name, [id, kind]]) => [id, [name as PropertyName, kind]]));

/** An empty property list: one byte, its length 0. */
export const NO_PROPERTIES = Buffer.from([0]);

export function varintLength(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

/** Writes a Variable Byte Integer at `offset`; returns the offset after it. [MQTT-1.5.5] */
export function writeVarint(buffer: Buffer, offset: number, value: number): number {
  do {
    let digit = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) digit |= 0x80;
    buffer[offset++] = digit;
  } while (value > 0);
  return offset;
}

function valueLength(kind: Kind, value: unknown): number {
  switch (kind) {
    case 'bool':
    case 'byte':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
      return 4;
    case 'varint':
      return varintLength(value as number);
    case 'string':
      return 2 + Buffer.byteLength(value as string);
    case 'binary':
      return 2 + (value as Buffer).length;
    case 'pair':
      return 4 + Buffer.byteLength((value as UserProperty)[0]) + Buffer.byteLength((value as UserProperty)[1]);
  }
}

function writeString(buffer: Buffer, offset: number, text: string): number {
  const length = buffer.write(text, offset + 2, 'utf8');
  buffer.writeUInt16BE(length, offset);
  return offset + 2 + length;
}

function writeValue(buffer: Buffer, offset: number, kind: Kind, value: unknown): number {
  switch (kind) {
    case 'bool':
    case 'byte':
      buffer[offset] = Number(value);
      return offset + 1;
    case 'u16':
      return buffer.writeUInt16BE(value as number, offset);
    case 'u32':
      return buffer.writeUInt32BE(value as number, offset);
    case 'varint':
      return writeVarint(buffer, offset, value as number);
    case 'string':
      return writeString(buffer, offset, value as string);
    case 'binary':
      buffer.writeUInt16BE((value as Buffer).length, offset);
      (value as Buffer).copy(buffer, offset + 2);
      return offset + 2 + (value as Buffer).length;
    case 'pair':
      return writeString(buffer, writeString(buffer, offset, (value as UserProperty)[0]), (value as UserProperty)[1]);
  }
}

/** Each value a property holds: only the repeatable ones (user properties, subscription ids) are arrays. */
function eachValue(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * Encodes a property list, its length in front: the bytes a packet carries after its variable
 * header. Undefined values are left out.
 */
export function encodeProperties(properties: OutgoingProperties | undefined): Buffer {
  if (!properties) return NO_PROPERTIES;
  let length = 0;
  for (const name in properties) {
    const value = properties[name as PropertyName];
    if (value === undefined) continue;
    const kind = PROPERTIES[name as PropertyName][1];
    for (const item of eachValue(value)) length += 1 + valueLength(kind, item);
  }
  if (length === 0) return NO_PROPERTIES;
  const buffer = Buffer.allocUnsafe(varintLength(length) + length);
  let offset = writeVarint(buffer, 0, length);
  for (const name in properties) {
    const value = properties[name as PropertyName];
    if (value === undefined) continue;
    const [id, kind] = PROPERTIES[name as PropertyName];
    for (const item of eachValue(value)) {
      buffer[offset++] = id;
      offset = writeValue(buffer, offset, kind, item);
    }
  }
  return buffer;
}

/** Properties read from a packet: bytes as numbers, user properties as ordered pairs, subscription ids as a list. */
export type DecodedProperties = {
  [N in PropertyName]?: N extends 'subscriptionIdentifier' ? number[] : ValueOf<(typeof PROPERTIES)[N][1], number>;
};

const REPEATABLE: ReadonlySet<PropertyName> = new Set(['userProperties', 'subscriptionIdentifier']);

/** Reads a Variable Byte Integer: its value and the offset after it, or a violation. [MQTT-1.5.5] */
export function readVarint(buffer: Buffer, offset: number, end: number): { value: number; next: number } {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i++) {
    if (offset >= end) break;
    const byte = buffer[offset++]!;
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, next: offset };
    multiplier *= 128;
  }
  throw new ProtocolViolation('malformed variable byte integer');
}

function readString(buffer: Buffer, offset: number, end: number): [string, number] {
  if (offset + 2 > end) throw new ProtocolViolation('property string overruns the packet');
  const length = buffer.readUInt16BE(offset);
  const stop = offset + 2 + length;
  if (stop > end) throw new ProtocolViolation('property string overruns the packet');
  // [MQTT-1.5.4-1] ill-formed UTF-8 and [MQTT-1.5.4-2] U+0000 make the packet malformed (utf8.ts).
  const error = utf8BytesError(buffer, offset + 2, stop);
  if (error) throw new ProtocolViolation(`property string ${error}`);
  return [buffer.toString('utf8', offset + 2, stop), stop];
}

/**
 * Reads the property list at `offset` (its length first) and returns the properties with the
 * offset after the list. Only identifiers in `allowed` may appear (another one makes the packet
 * malformed, section 2.2.2.2); a value that overruns the list is malformed too, and a property
 * other than User Property or Subscription Identifier given twice is a Protocol Error.
 */
export function decodeProperties(buffer: Buffer, offset: number, end: number, allowed: ReadonlySet<PropertyName>): { properties: DecodedProperties; next: number } {
  const { value: length, next: start } = readVarint(buffer, offset, end);
  const stop = start + length;
  if (stop > end) throw new ProtocolViolation('property length overruns the packet');
  const properties: Record<string, unknown> = {};
  let position = start;
  while (position < stop) {
    const found = BY_ID.get(buffer[position]!);
    if (!found || !allowed.has(found[0])) throw new ProtocolViolation(`property 0x${buffer[position]!.toString(16)} is not allowed here`);
    const [name, kind] = found;
    position++;
    let value: unknown;
    switch (kind) {
      case 'bool':
      case 'byte':
        if (position + 1 > stop) throw new ProtocolViolation(`${name} overruns the properties`);
        value = buffer[position++];
        break;
      case 'u16':
        if (position + 2 > stop) throw new ProtocolViolation(`${name} overruns the properties`);
        value = buffer.readUInt16BE(position);
        position += 2;
        break;
      case 'u32':
        if (position + 4 > stop) throw new ProtocolViolation(`${name} overruns the properties`);
        value = buffer.readUInt32BE(position);
        position += 4;
        break;
      case 'varint':
        ({ value, next: position } = readVarint(buffer, position, stop));
        break;
      case 'string':
        [value, position] = readString(buffer, position, stop);
        break;
      case 'binary': {
        if (position + 2 > stop) throw new ProtocolViolation(`${name} overruns the properties`);
        const to = position + 2 + buffer.readUInt16BE(position);
        if (to > stop) throw new ProtocolViolation(`${name} overruns the properties`);
        // A copy: the message may outlive the read buffer, which must not be pinned.
        value = Buffer.from(buffer.subarray(position + 2, to));
        position = to;
        break;
      }
      case 'pair': {
        const [key, afterKey] = readString(buffer, position, stop);
        const [text, afterValue] = readString(buffer, afterKey, stop);
        value = [key, text];
        position = afterValue;
        break;
      }
    }
    if (REPEATABLE.has(name)) {
      ((properties[name] ??= []) as unknown[]).push(value);
    } else if (name in properties) {
      throw new ProtocolViolation(`${name} given twice`, Reason.ProtocolError);
    } else {
      properties[name] = value;
    }
  }
  return { properties: properties as DecodedProperties, next: stop };
}

/** The properties that travel with a message from its publisher to its subscribers. */
const MESSAGE_PROPERTY_NAMES = ['payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties'] as const;
/** What Stores and Emitters keep of a message: its properties and the subscription ids of a client's copy. */
const STORED_PROPERTIES: ReadonlySet<PropertyName> = new Set([...MESSAGE_PROPERTY_NAMES, 'subscriptionIdentifier']);

/** The identifiers a PUBLISH may carry (section 3.3.2.3); a will carries the message's and a delay. */
export const PUBLISH_PROPERTIES: ReadonlySet<PropertyName> = new Set([...MESSAGE_PROPERTY_NAMES, 'topicAlias', 'subscriptionIdentifier']);
export const WILL_PROPERTIES: ReadonlySet<PropertyName> = new Set([...MESSAGE_PROPERTY_NAMES, 'willDelayInterval']);

export const CONNECT_PROPERTIES: ReadonlySet<PropertyName> = new Set([
  'sessionExpiryInterval',
  'receiveMaximum',
  'maximumPacketSize',
  'topicAliasMaximum',
  'requestResponseInformation',
  'requestProblemInformation',
  'userProperties',
  'authenticationMethod',
  'authenticationData',
]);

export const SUBSCRIBE_PROPERTIES: ReadonlySet<PropertyName> = new Set(['subscriptionIdentifier', 'userProperties']);
export const UNSUBSCRIBE_PROPERTIES: ReadonlySet<PropertyName> = new Set(['userProperties']);
/** PUBACK, PUBREC, PUBREL and PUBCOMP. */
export const ACK_PROPERTIES: ReadonlySet<PropertyName> = new Set(['reasonString', 'userProperties']);
export const DISCONNECT_PROPERTIES: ReadonlySet<PropertyName> = new Set(['sessionExpiryInterval', 'reasonString', 'userProperties', 'serverReference']);
export const AUTH_PROPERTIES: ReadonlySet<PropertyName> = new Set(['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties']);

/**
 * The properties of decoded ones that travel with the message to its subscribers, or undefined
 * when there are none (so that a 3.1.1-style message stays as small as it was).
 */
export function messagePropertiesOf(decoded: DecodedProperties): MessageProperties | undefined {
  if (MESSAGE_PROPERTY_NAMES.every((name) => decoded[name] === undefined)) return undefined;
  const { payloadFormatIndicator, messageExpiryInterval, contentType, responseTopic, correlationData, userProperties } = decoded;
  const properties: MessageProperties = {};
  if (payloadFormatIndicator !== undefined) {
    // Any value other than 0 or 1 is a Protocol Error (section 3.3.2.3.2).
    if (payloadFormatIndicator !== 0 && payloadFormatIndicator !== 1) throw new ProtocolViolation('payload format indicator must be 0 or 1', Reason.ProtocolError);
    properties.payloadFormatIndicator = payloadFormatIndicator === 1;
  }
  if (messageExpiryInterval !== undefined) properties.messageExpiryInterval = messageExpiryInterval as number;
  if (contentType !== undefined) properties.contentType = contentType;
  if (responseTopic !== undefined) properties.responseTopic = responseTopic;
  if (correlationData !== undefined) properties.correlationData = correlationData;
  if (userProperties !== undefined) properties.userProperties = userProperties;
  return properties;
}

/** When a message with these properties expires if it was received now, or undefined. [MQTT-3.3.2-5] */
export function expiryOf(properties: MessageProperties | undefined, now = Date.now()): number | undefined {
  const interval = properties?.messageExpiryInterval;
  return interval === undefined ? undefined : now + interval * 1000;
}

/**
 * The properties a message goes out with: its Message Expiry Interval reduced by the time it
 * waited in the broker [MQTT-3.3.2-6], at least 1 s (it is sent only while it has not expired),
 * and the identifiers of the subscriptions it matched. [MQTT-3.3.4-4]
 */
export function outgoingPropertiesOf(message: Message, now = Date.now()): OutgoingProperties | undefined {
  const { properties, expiresAt, subscriptionIdentifiers } = message;
  if (expiresAt === undefined && subscriptionIdentifiers === undefined) return properties;
  const outgoing: OutgoingProperties = { ...properties };
  if (expiresAt !== undefined && properties !== undefined) outgoing.messageExpiryInterval = Math.max(1, Math.ceil((expiresAt - now) / 1000));
  if (subscriptionIdentifiers !== undefined) outgoing.subscriptionIdentifier = subscriptionIdentifiers;
  return outgoing;
}

/**
 * A message's MQTT 5 properties and subscription identifiers in MQTT 5's own encoding (their
 * length first), for Stores and Emitters that keep or carry messages: one format for the wire and
 * for every backend. Undefined when the message has neither.
 */
export function encodeMessageProperties(message: MessageContent): Buffer | undefined {
  const { properties, subscriptionIdentifiers } = message;
  if (properties === undefined && subscriptionIdentifiers === undefined) return undefined;
  return encodeProperties(subscriptionIdentifiers === undefined ? properties : { ...properties, subscriptionIdentifier: subscriptionIdentifiers });
}

/** The inverse of encodeMessageProperties, reading at `offset`; also returns where the properties end. */
export function decodeMessageProperties(
  buffer: Buffer,
  offset = 0,
  end = buffer.length,
): { properties: MessageProperties | undefined; subscriptionIdentifiers: number[] | undefined; next: number } {
  const { properties, next } = decodeProperties(buffer, offset, end, STORED_PROPERTIES);
  return { properties: messagePropertiesOf(properties), subscriptionIdentifiers: properties.subscriptionIdentifier, next };
}
