import { decodeMessageProperties, encodeMessageProperties, type Message, type QoS } from '@skynet-mqtt/core';

/**
 * MQTT topics and filters as AMQP routing and binding keys, and messages as AMQP content and
 * properties. Pure functions: no I/O.
 *
 * Levels become words: `/` ↔ `.`, `+` ↔ `*`, `#` ↔ `#`. A level that contains `.`, `*`, `#` or `%`
 * has those characters percent-encoded (`%2E`, `%2A`, `%23`, `%25`), and an empty level becomes
 * the word `%` (which no encoding produces), so that every topic round-trips and a literal level
 * never acts as a wildcard.
 *
 * A routing key holds at most 255 bytes. A topic whose key would be longer is sent with the
 * reserved key `%long` (not a valid encoding either) and its topic in a header; every instance
 * binds `%long`, and a binding key that would be longer is replaced by `#`. Delivery to handlers
 * always goes through MQTT matching of the real topic, so this only widens what reaches an
 * instance, never what a handler gets.
 */

export const MAX_KEY_BYTES = 255;
export const LONG_TOPIC_KEY = '%long';

const SPECIAL = /[.*#%]/g;
const ENCODED: Record<string, string> = { '.': '%2E', '*': '%2A', '#': '%23', '%': '%25' };

function encodeLevel(level: string): string {
  if (level === '') return '%';
  return level.replace(SPECIAL, (c) => ENCODED[c]!);
}

function decodeLevel(word: string): string {
  if (word === '%') return '';
  return word.replace(/%(2E|2A|23|25)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The routing key of a topic name, or LONG_TOPIC_KEY when it would exceed 255 bytes. */
export function routingKey(topic: string): string {
  const key = topic.split('/').map(encodeLevel).join('.');
  return Buffer.byteLength(key) > MAX_KEY_BYTES ? LONG_TOPIC_KEY : key;
}

/** The topic name a routing key was made from (not for LONG_TOPIC_KEY: that topic travels in a header). */
export function topicOf(key: string): string {
  return key.split('.').map(decodeLevel).join('/');
}

/** The binding key of a topic filter; `#` (everything, matched exactly later) when it would exceed 255 bytes. */
export function bindingKey(filter: string): string {
  const key = filter
    .split('/')
    .map((level) => (level === '+' ? '*' : level === '#' ? '#' : encodeLevel(level)))
    .join('.');
  return Buffer.byteLength(key) > MAX_KEY_BYTES ? '#' : key;
}

/** Header names: short, since every message carries them. */
const QOS = 'q';
const RETAIN = 'r';
const TOPIC = 't';
const SEQUENCE = 's';
/** The message's id (Message.id), kept by every copy. */
const ID = 'i';
/** MQTT 5 properties, as on the MQTT wire (a binary header value). */
const PROPERTIES = 'p';
/** When the message expires (MQTT 5 Message Expiry), epoch ms as a decimal string (exact whatever the table type). */
const EXPIRES_AT = 'e';

export interface Outgoing {
  routingKey: string;
  content: Buffer;
  headers: Record<string, string | number | Buffer>;
}

/** A message as an AMQP publish: payload as the body untouched; id, QoS, retain, MQTT 5 properties, expiry and this instance's sequence number as headers. */
export function encodeMessage(message: Message, sequence: number): Outgoing {
  const key = routingKey(message.topic);
  const headers: Record<string, string | number | Buffer> = { [ID]: message.id, [QOS]: message.qos, [RETAIN]: message.retain ? 1 : 0, [SEQUENCE]: sequence };
  if (key === LONG_TOPIC_KEY) headers[TOPIC] = message.topic;
  const properties = encodeMessageProperties(message);
  if (properties) headers[PROPERTIES] = properties;
  if (message.expiresAt !== undefined) headers[EXPIRES_AT] = String(message.expiresAt);
  return { routingKey: key, content: message.payload, headers };
}

export interface Incoming {
  message: Message;
  sequence: number | undefined;
}

/** A delivery back to a message; throws on one no AMQP emitter wrote. */
export function decodeMessage(key: string, content: Buffer, headers: Record<string, unknown> | undefined): Incoming {
  const qos = headers?.[QOS];
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`no valid QoS header (${String(qos)})`);
  let topic: string;
  if (key === LONG_TOPIC_KEY) {
    const header = headers?.[TOPIC];
    if (typeof header !== 'string') throw new Error('a long topic without its topic header');
    topic = header;
  } else {
    topic = topicOf(key);
  }
  const sequence = headers?.[SEQUENCE];
  const id = headers?.[ID];
  const message: Message = { id: typeof id === 'string' ? id : '', topic, payload: content, qos: qos as QoS, retain: headers?.[RETAIN] === 1 };
  const properties = headers?.[PROPERTIES];
  if (Buffer.isBuffer(properties)) {
    const decoded = decodeMessageProperties(properties).properties;
    if (decoded) message.properties = decoded;
  }
  const expiresAt = Number(headers?.[EXPIRES_AT]);
  if (headers?.[EXPIRES_AT] !== undefined && Number.isFinite(expiresAt)) message.expiresAt = expiresAt;
  return {
    message,
    sequence: typeof sequence === 'number' && Number.isSafeInteger(sequence) ? sequence : undefined,
  };
}
