import type { Client } from '../connection/client.js';
import type { UnsubscribePacket } from '../connection/inbound-packets.js';
import { ProtocolViolation, Reason } from '../connection/reason-codes.js';
import { isSharedFilter } from '../topics/shared-filter.js';
import { topicFilterError } from '../topics/validate.js';

/**
 * UNSUBSCRIBE: filters held are removed; UNSUBACK is sent whether they were held or not
 * [MQTT-3.10.4-5], with a reason code per filter for a 5.0 client. [MQTT-3.11.3-1] [MQTT-3.11.3-2]
 */
export async function handleUnsubscribe(client: Client, packet: UnsubscribePacket): Promise<void> {
  const server = client.server;
  const topics = packet.unsubscriptions;
  // [MQTT-4.7.3-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] a malformed filter closes a 3.1.1 connection
  // before anything is removed (as Mosquitto); a 5.0 client hears 0x8F for it.
  const malformed = client.protocolVersion === 5 ? undefined : topics.find((topic) => topicFilterError(topic));
  if (malformed !== undefined) {
    return client.protocolError(new ProtocolViolation(`UNSUBSCRIBE: topic filter ${JSON.stringify(malformed)}: ${topicFilterError(malformed)}`));
  }
  const reasonCodes: number[] = [];
  for (const topic of topics) {
    if (!(topic in client.subscriptions)) {
      reasonCodes.push(topicFilterError(topic) ? Reason.TopicFilterInvalid : Reason.NoSubscriptionExisted);
      continue;
    }
    reasonCodes.push(Reason.Success);
    delete client.subscriptions[topic];
    // [MQTT-3.10.4-2] no new messages for it
    if (isSharedFilter(topic)) server.shared.unsubscribe(client, topic);
    else server.router.unsubscribe(client, topic);
  }
  if (client.durable) await client.persist((id) => server.store.removeSubscriptions(id, topics));
  client.write({ cmd: 'unsuback', messageId: packet.messageId!, granted: reasonCodes });
  for (const topic of topics) {
    server.emit('unsubscribed', topic, client);
    if (server.settings.publishSubscriptions) {
      server.publishEvent('new/unsubscribes', () => JSON.stringify({ clientId: client.id, topic }));
    }
  }
}
