import type { ISubscription, QoS } from 'mqtt-packet';
import type { ProtocolLevel } from '../../types.js';
import type { SubscribePacket, UnsubscribePacket } from '../inbound-packets.js';
import { SUBSCRIBE_PROPERTIES, UNSUBSCRIBE_PROPERTIES } from '../properties.js';
import { Reason } from '../reason-codes.js';
import { Fields } from './fields.js';

/**
 * SUBSCRIBE: a packet id, (MQTT 5: properties,) then one or more (filter, options) pairs. Filters
 * are held to the string rules here; their wildcards and emptiness are the handler's to refuse
 * (a 5.0 client gets SUBACK 0x8F for that filter, a 3.1.1 one is disconnected).
 */
export function decodeSubscribe(buffer: Buffer, start: number, end: number, level: ProtocolLevel): SubscribePacket {
  const fields = new Fields(buffer, start, end, 'SUBSCRIBE');
  const messageId = fields.packetId();
  const properties = level === 5 ? fields.properties(SUBSCRIBE_PROPERTIES) : undefined;
  if (fields.remaining === 0) fields.fail('no topic filter [MQTT-3.8.3-3]');
  const subscriptions: ISubscription[] = [];
  while (fields.remaining > 0) {
    const topic = fields.string('topic filter');
    const options = fields.byte('subscription options');
    const qos = options & 0x03;
    if (qos === 3) fields.fail('requested QoS 3 [MQTT-3.8.3-4]');
    if (level !== 5) {
      if (options > 2) fields.fail(`reserved bits set in the requested QoS byte 0x${options.toString(16)} [MQTT-3.8.3-4]`);
      subscriptions.push({ topic, qos: qos as QoS });
      continue;
    }
    // MQTT 5 subscription options (section 3.8.3.1): No Local, Retain As Published, Retain Handling.
    if (options & 0xc0) fields.fail('reserved bits set in the subscription options [MQTT-3.8.3-5]');
    const rh = (options >> 4) & 0x03;
    if (rh === 3) fields.fail('Retain Handling 3', Reason.ProtocolError);
    subscriptions.push({ topic, qos: qos as QoS, nl: (options & 0x04) !== 0, rap: (options & 0x08) !== 0, rh });
  }
  return { cmd: 'subscribe', messageId, subscriptions, properties };
}

/** UNSUBSCRIBE: a packet id, (MQTT 5: properties,) then one or more filters. */
export function decodeUnsubscribe(buffer: Buffer, start: number, end: number, level: ProtocolLevel): UnsubscribePacket {
  const fields = new Fields(buffer, start, end, 'UNSUBSCRIBE');
  const messageId = fields.packetId();
  const properties = level === 5 ? fields.properties(UNSUBSCRIBE_PROPERTIES) : undefined;
  if (fields.remaining === 0) fields.fail('no topic filter [MQTT-3.10.3-2]');
  const unsubscriptions: string[] = [];
  while (fields.remaining > 0) unsubscriptions.push(fields.string('topic filter'));
  return { cmd: 'unsubscribe', messageId, unsubscriptions, properties };
}
