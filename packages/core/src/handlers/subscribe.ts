import type { ISubscribePacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';
import { callHook } from '../hooks.js';
import { clientMaySubscribe } from '../sys/topic-access.js';
import { topicFilterError, topicMatches } from '../topics/validate.js';
import type { QoS, Subscription } from '../types.js';

const FAILURE = 0x80;

/**
 * SUBSCRIBE: each filter is validated and authorized on its own; SUBACK carries a code per filter
 * in order [MQTT-3.8.4-5], then the retained messages that match go out. [MQTT-3.3.1-6]
 */
export async function handleSubscribe(client: Client, packet: ISubscribePacket): Promise<void> {
  const server = client.server;
  const granted: number[] = [];
  const accepted: Subscription[] = [];
  for (const { topic, qos } of packet.subscriptions) {
    const error = topicFilterError(topic, server.settings.maxTopicLevels);
    if (error) {
      client.logger.warn({ topic, reason: error }, 'invalid topic filter in SUBSCRIBE');
      granted.push(FAILURE);
      continue;
    }
    if (!clientMaySubscribe(topic)) {
      client.logger.warn({ topic }, 'SUBSCRIBE to the broker control level refused');
      granted.push(FAILURE);
      continue;
    }
    if (server.authorizeSubscribe) {
      let allowed: boolean;
      try {
        allowed = await callHook<boolean>(server.authorizeSubscribe, server, [client, topic]);
      } catch (err) {
        client.logger.warn({ topic, err }, 'authorizeSubscribe failed, closing');
        return client.close('subscribe not authorized');
      }
      if (!allowed) {
        granted.push(FAILURE);
        continue;
      }
    }
    granted.push(qos);
    accepted.push({ topic, qos: qos as QoS });
  }
  if (client.closing) return;

  // [MQTT-3.8.4-3] a filter already held is replaced, its retained messages sent again.
  for (const { topic, qos } of accepted) {
    client.subscriptions[topic] = { qos };
    server.router.subscribe(client, topic, qos);
  }
  if (client.durable && accepted.length > 0) await client.persist((id) => server.store.addSubscriptions(id, accepted));
  client.write({ cmd: 'suback', messageId: packet.messageId!, granted });

  for (const { topic } of accepted) {
    server.logger.debug({ clientId: client.id, topic }, 'subscribed to topic');
    server.emit('subscribed', topic, client);
    if (server.settings.publishSubscriptions) {
      server.publishEvent('new/subscribes', JSON.stringify({ clientId: client.id, topic }));
    }
  }
  if (accepted.length === 0) return;
  const retained = await server.store.matchRetained(accepted.map((s) => s.topic));
  for (const message of retained) {
    // One delivery per message, at the highest QoS among the new filters it matches.
    let qos = 0;
    if (!server.sysAccess.mayRead(client, message.topic)) continue;
    for (const s of accepted) if (s.qos > qos && topicMatches(s.topic, message.topic)) qos = s.qos;
    client.deliver(message, qos as QoS, true); // [MQTT-3.3.1-8] retain set on these
  }
}
