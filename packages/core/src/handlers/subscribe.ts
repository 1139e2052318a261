import type { Client } from '../connection/client.js';
import type { SubscribePacket } from '../connection/inbound-packets.js';
import { ProtocolViolation, Reason, refusalCode } from '../connection/reason-codes.js';
import { callHook, type SubscriptionRequest } from '../hooks.js';
import { clientMaySubscribe } from '../sys/topic-access.js';
import { isSharedFilter, matchingFilter, sharedFilterError } from '../topics/shared-filter.js';
import { topicFilterError, topicLevelsError } from '../topics/validate.js';
import type { QoS, Subscription } from '../types.js';

/**
 * SUBSCRIBE: each filter is validated and authorized on its own; SUBACK carries a code per filter
 * in order [MQTT-3.8.4-5] [MQTT-3.9.3-1], then the retained messages that match go out. [MQTT-3.3.1-6]
 */
export async function handleSubscribe(client: Client, packet: SubscribePacket): Promise<void> {
  const server = client.server;
  const v5 = client.protocolVersion === 5;
  const identifiers = packet.properties?.subscriptionIdentifier;
  if (identifiers && (identifiers.length > 1 || identifiers[0] === 0)) {
    // Given twice, or 0: a Protocol Error (section 3.8.2.1.2).
    return client.protocolError(new ProtocolViolation('invalid Subscription Identifier', Reason.ProtocolError));
  }
  const subscriptionIdentifier = identifiers?.[0];
  const userProperties = packet.properties?.userProperties;
  const granted: number[] = [];
  const accepted: Subscription[] = [];
  for (const { topic, qos, nl, rap, rh } of packet.subscriptions) {
    const error = topicFilterError(topic);
    if (error) {
      // [MQTT-4.7.3-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3] a malformed filter closes a 3.1.1 connection (as Mosquitto).
      if (!v5) return client.protocolError(new ProtocolViolation(`SUBSCRIBE: topic filter ${JSON.stringify(topic)}: ${error}`));
      client.logger.warn({ topic, reason: error }, 'invalid topic filter in SUBSCRIBE');
      granted.push(Reason.TopicFilterInvalid);
      continue;
    }
    const tooDeep = topicLevelsError(topic, server.settings.maxTopicLevels);
    if (tooDeep) {
      client.logger.warn({ topic: topic.slice(0, 200), reason: tooDeep }, 'topic filter refused in SUBSCRIBE');
      granted.push(Reason.TopicFilterInvalid); // 3.1.1 hears 0x80
      continue;
    }
    if (isSharedFilter(topic)) {
      const invalid = sharedFilterError(topic);
      if (invalid) {
        client.logger.warn({ topic, reason: invalid }, 'invalid shared subscription in SUBSCRIBE');
        granted.push(Reason.TopicFilterInvalid); // 3.1.1 hears 0x80
        continue;
      }
      // [MQTT-3.8.3-4] No Local on a shared subscription is a Protocol Error.
      if (nl) return client.protocolError(new ProtocolViolation('No Local set on a shared subscription', Reason.ProtocolError));
    }
    if (!clientMaySubscribe(matchingFilter(topic))) {
      client.logger.warn({ topic }, 'SUBSCRIBE to the broker control level refused');
      granted.push(Reason.NotAuthorized); // 3.1.1 hears 0x80
      continue;
    }
    if (server.authorizeSubscribe) {
      const request: SubscriptionRequest = { topic, qos, nl, rap, rh, subscriptionIdentifier, userProperties };
      let allowed: boolean;
      try {
        allowed = await callHook<boolean>(server, 'authorizeSubscribe', [client, topic], [request]);
      } catch (err) {
        if (!v5) {
          client.logger.warn({ topic, err }, 'authorizeSubscribe failed, closing');
          return client.close('subscribe not authorized');
        }
        client.logger.warn({ topic, err }, 'authorizeSubscribe failed');
        granted.push(refusalCode(err, Reason.NotAuthorized));
        continue;
      }
      if (!allowed) {
        granted.push(Reason.NotAuthorized); // 3.1.1 hears 0x80
        continue;
      }
    }
    granted.push(qos);
    accepted.push(subscriptionOf(topic, qos, v5 ? { nl, rap, rh: rh as Subscription['rh'], subscriptionIdentifier } : {}));
  }
  if (client.closing) return;

  // [MQTT-3.8.4-3] a filter already held is replaced (its options too).
  const existed = new Set<string>();
  for (const subscription of accepted) {
    if (subscription.topic in client.subscriptions) existed.add(subscription.topic);
    client.subscriptions[subscription.topic] = subscription;
    if (isSharedFilter(subscription.topic)) server.shared.join(client, subscription);
    else server.router.subscribe(client, subscription);
  }
  if (client.durable && accepted.length > 0) await client.persist((id) => server.store.addSubscriptions(id, accepted));
  client.write({ cmd: 'suback', messageId: packet.messageId!, granted });

  for (const { topic } of accepted) {
    server.logger.debug({ clientId: client.id, topic }, 'subscribed to topic');
    server.emit('subscribed', topic, client);
    if (server.settings.publishSubscriptions) {
      server.publishEvent('new/subscribes', () => JSON.stringify({ clientId: client.id, topic }));
    }
  }
  // Retain Handling: 0 sends the retained messages [MQTT-3.3.1-9], 1 only for a subscription that
  // did not exist [MQTT-3.3.1-10], 2 never [MQTT-3.3.1-11]. Never for a shared subscription: they
  // go to a new Non-shared Subscription (section 3.3.1.3); a group would get them once per member.
  const wanting = accepted.filter(({ topic, rh }) => !isSharedFilter(topic) && (rh === undefined || rh === 0 || (rh === 1 && !existed.has(topic))));
  if (wanting.length > 0) client.outbound.replayRetained(wanting);
}

/** A subscription with only the MQTT 5 options that differ from the defaults, so that a plain one stays plain. */
function subscriptionOf(topic: string, qos: number, options: Omit<Subscription, 'topic' | 'qos'>): Subscription {
  const subscription: Subscription = { topic, qos: qos as QoS };
  if (options.nl) subscription.nl = true;
  if (options.rap) subscription.rap = true;
  if (options.rh) subscription.rh = options.rh;
  if (options.subscriptionIdentifier !== undefined) subscription.subscriptionIdentifier = options.subscriptionIdentifier;
  return subscription;
}
