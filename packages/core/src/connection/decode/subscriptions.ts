import type { ISubscribePacket, ISubscription, IUnsubscribePacket, QoS } from 'mqtt-packet';
import { wildcardError } from '../../topics/validate.js';
import { Fields } from './fields.js';

/** A topic filter: a UTF-8 string (utf8.ts) that is not empty and uses wildcards as 4.7.1 says. */
function filter(fields: Fields): string {
  const topic = fields.string('topic filter');
  if (topic === '') fields.fail('empty topic filter [MQTT-4.7.3-1]');
  const error = wildcardError(topic);
  if (error) fields.fail(`topic filter ${JSON.stringify(topic)}: ${error}`);
  return topic;
}

/** SUBSCRIBE of MQTT 3.1/3.1.1: a packet id, then one or more (filter, requested QoS) pairs. */
export function decodeSubscribe(buffer: Buffer, start: number, end: number): ISubscribePacket {
  const fields = new Fields(buffer, start, end, 'SUBSCRIBE');
  const messageId = fields.packetId();
  if (fields.remaining === 0) fields.fail('no topic filter [MQTT-3.8.3-3]');
  const subscriptions: ISubscription[] = [];
  while (fields.remaining > 0) {
    const topic = filter(fields);
    const qos = fields.byte('requested QoS');
    if (qos > 2) fields.fail(`requested QoS byte ${qos}: reserved bits set or QoS 3 [MQTT-3.8.3-4]`);
    subscriptions.push({ topic, qos: qos as QoS });
  }
  return { cmd: 'subscribe', messageId, subscriptions };
}

/** UNSUBSCRIBE of MQTT 3.1/3.1.1: a packet id, then one or more filters. */
export function decodeUnsubscribe(buffer: Buffer, start: number, end: number): IUnsubscribePacket {
  const fields = new Fields(buffer, start, end, 'UNSUBSCRIBE');
  const messageId = fields.packetId();
  if (fields.remaining === 0) fields.fail('no topic filter [MQTT-3.10.3-2]');
  const unsubscriptions: string[] = [];
  while (fields.remaining > 0) unsubscriptions.push(filter(fields));
  return { cmd: 'unsubscribe', messageId, unsubscriptions };
}
