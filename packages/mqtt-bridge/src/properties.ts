import type { IPublishPacket } from 'mqtt';
import { randomBytes } from 'node:crypto';
import type { Message, MessageProperties, UserProperty } from '@skynet-mqtt/core';
import { fromParentTopic, toParentTopic } from './topics.js';

type PacketProperties = NonNullable<IPublishPacket['properties']>;
type UserPropertiesObject = NonNullable<PacketProperties['userProperties']>;

/**
 * The User Property that carries, as JSON, what MQTT 5 properties cannot carry exactly across
 * the parent, for the other instances to read back:
 * - `id`: the message's id (Message.id), by which instances recognise two copies of one message;
 * - `up`: the User Property list, when mqtt.js's object form would reorder it (a name repeated
 *   around another, 'a', 'b', 'a'; a name JavaScript sorts first, '1');
 * - `exp`: the message's expiry time (Message.expiresAt), and `mei`: its Message Expiry Interval
 *   as the publisher gave it (the parent sends the remaining time instead).
 */
export const META_PROPERTY = 'skynet';

interface Meta {
  id?: string;
  up?: UserProperty[];
  exp?: number;
  mei?: number;
}

/** mqtt.js's `{ name: value | [values] }`, built in order: a repeated name collects its values. */
function toObject(list: readonly UserProperty[]): UserPropertiesObject {
  const object: UserPropertiesObject = {};
  for (const [name, value] of list) {
    const previous = object[name];
    object[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return object;
}

function fromObject(object: UserPropertiesObject): UserProperty[] {
  return Object.entries(object).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v): UserProperty => [name, String(v)]));
}

function sameList(a: readonly UserProperty[], b: readonly UserProperty[]): boolean {
  return a.length === b.length && a.every(([name, value], i) => name === b[i]![0] && value === b[i]![1]);
}

/**
 * A message's MQTT 5 properties as mqtt.js publishes them to the parent. The Response Topic is a
 * topic of this broker: it gets the prefix, so that clients of the parent can answer. A message
 * that expires goes with its remaining lifetime, so the parent expires it too.
 */
export function toParentProperties(prefix: string | null, message: Pick<Message, 'properties' | 'expiresAt'> & { id?: string }, now = Date.now()): PacketProperties | undefined {
  const { properties, expiresAt, id } = message;
  if (!properties && expiresAt === undefined && !id) return undefined;
  const { userProperties, responseTopic, ...rest } = properties ?? {};
  const out: PacketProperties = { ...rest };
  const meta: Meta = {};
  if (id) meta.id = id;
  if (responseTopic !== undefined) out.responseTopic = toParentTopic(prefix, responseTopic) ?? responseTopic;
  let object: UserPropertiesObject = {};
  if (userProperties) {
    object = toObject(userProperties);
    if (!sameList(fromObject(object), userProperties) || META_PROPERTY in object) meta.up = userProperties;
  }
  if (expiresAt !== undefined) {
    meta.exp = expiresAt;
    if (rest.messageExpiryInterval !== undefined) meta.mei = rest.messageExpiryInterval;
    out.messageExpiryInterval = Math.min(0xffffffff, Math.max(1, Math.ceil((expiresAt - now) / 1000)));
  }
  if (Object.keys(meta).length > 0) object = { ...object, [META_PROPERTY]: JSON.stringify(meta) };
  if (Object.keys(object).length > 0) out.userProperties = object;
  return out;
}

/**
 * The inverse: what arrives from the parent, as the broker's id, properties and expiry time. A
 * message of a client of the parent gets an id here (it enters the broker here); one that has a
 * Message Expiry Interval expires that long after `now`.
 */
export function fromParentProperties(prefix: string | null, properties: PacketProperties | undefined, now = Date.now()): Pick<Message, 'id' | 'properties' | 'expiresAt'> {
  if (!properties) return { id: parentMessageId() };
  const { [META_PROPERTY]: metaText, ...object } = properties.userProperties ?? {};
  const meta = typeof metaText === 'string' ? parseMeta(metaText) : {};
  const result: MessageProperties = {};
  if (properties.payloadFormatIndicator !== undefined) result.payloadFormatIndicator = properties.payloadFormatIndicator;
  const interval = meta.exp !== undefined ? meta.mei : properties.messageExpiryInterval;
  if (interval !== undefined) result.messageExpiryInterval = interval;
  if (properties.contentType !== undefined) result.contentType = properties.contentType;
  if (properties.responseTopic !== undefined) result.responseTopic = fromParentTopic(prefix, properties.responseTopic) ?? properties.responseTopic;
  if (properties.correlationData !== undefined) result.correlationData = Buffer.from(properties.correlationData);
  const userProperties = meta.up ?? fromObject(object);
  if (userProperties.length > 0) result.userProperties = userProperties;
  const out: Pick<Message, 'id' | 'properties' | 'expiresAt'> = { id: meta.id ?? parentMessageId() };
  if (Object.keys(result).length > 0) out.properties = result;
  const expiresAt = meta.exp ?? (properties.messageExpiryInterval === undefined ? undefined : now + properties.messageExpiryInterval * 1000);
  if (expiresAt !== undefined) out.expiresAt = expiresAt;
  return out;
}

/** An id for a message that entered through the parent (no instance gave it one). */
function parentMessageId(): string {
  return `parent-${randomBytes(9).toString('base64url')}`;
}

/** What META_PROPERTY says; nothing when it is not ours (a client of the parent may use the name). */
function parseMeta(text: string): Meta {
  try {
    const meta = JSON.parse(text) as Record<string, unknown>;
    const result: Meta = {};
    if (typeof meta.id === 'string' && meta.id !== '') result.id = meta.id;
    const up = meta.up;
    if (Array.isArray(up) && up.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((s) => typeof s === 'string'))) result.up = up as UserProperty[];
    if (typeof meta.exp === 'number' && Number.isFinite(meta.exp)) result.exp = meta.exp;
    if (typeof meta.mei === 'number' && Number.isInteger(meta.mei)) result.mei = meta.mei;
    return result;
  } catch {
    return {};
  }
}
