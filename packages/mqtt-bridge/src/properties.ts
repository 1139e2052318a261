import type { IPublishPacket } from 'mqtt';
import type { MessageProperties, UserProperty } from '@skynet-mqtt/core';
import { fromParentTopic, toParentTopic } from './topics.js';

type PacketProperties = NonNullable<IPublishPacket['properties']>;
type UserPropertiesObject = NonNullable<PacketProperties['userProperties']>;

/**
 * The User Property that carries the exact list when mqtt.js's object form would reorder it: a
 * name repeated around another ('a', 'b', 'a') or a name JavaScript sorts first ('1').
 */
export const ORDER_PROPERTY = 'skynet-user-properties';

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
 * topic of this broker: it gets the prefix, so that clients of the parent can answer.
 */
export function toParentProperties(prefix: string | null, properties: MessageProperties | undefined): PacketProperties | undefined {
  if (!properties) return undefined;
  const { userProperties, responseTopic, ...rest } = properties;
  const out: PacketProperties = { ...rest };
  if (responseTopic !== undefined) out.responseTopic = toParentTopic(prefix, responseTopic) ?? responseTopic;
  if (userProperties) {
    const object = toObject(userProperties);
    const exact = sameList(fromObject(object), userProperties) && !(ORDER_PROPERTY in object);
    out.userProperties = exact ? object : { ...object, [ORDER_PROPERTY]: JSON.stringify(userProperties) };
  }
  return out;
}

/** The inverse: what arrives from the parent, as the broker's MessageProperties (none: undefined). */
export function fromParentProperties(prefix: string | null, properties: PacketProperties | undefined): MessageProperties | undefined {
  if (!properties) return undefined;
  const result: MessageProperties = {};
  if (properties.payloadFormatIndicator !== undefined) result.payloadFormatIndicator = properties.payloadFormatIndicator;
  if (properties.messageExpiryInterval !== undefined) result.messageExpiryInterval = properties.messageExpiryInterval;
  if (properties.contentType !== undefined) result.contentType = properties.contentType;
  if (properties.responseTopic !== undefined) result.responseTopic = fromParentTopic(prefix, properties.responseTopic) ?? properties.responseTopic;
  if (properties.correlationData !== undefined) result.correlationData = Buffer.from(properties.correlationData);
  if (properties.userProperties) {
    const { [ORDER_PROPERTY]: order, ...object } = properties.userProperties;
    result.userProperties = (typeof order === 'string' && parseOrder(order)) || fromObject(object);
  }
  return Object.keys(result).length > 0 ? result : undefined;
}

/** The exact list carried by ORDER_PROPERTY, or null when it is not one. */
function parseOrder(text: string): UserProperty[] | null {
  try {
    const list: unknown = JSON.parse(text);
    const valid = Array.isArray(list) && list.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((s) => typeof s === 'string'));
    return valid ? (list as UserProperty[]) : null;
  } catch {
    return null;
  }
}
