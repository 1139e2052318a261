import type { Client } from '../connection/client.js';
import type { PublishPacket } from '../connection/inbound-packets.js';
import { expiryOf, messagePropertiesOf } from '../connection/properties.js';
import { ProtocolViolation, Reason, refusalCode } from '../connection/reason-codes.js';
import { callHook } from '../hooks.js';
import { clientMayPublish } from '../sys/topic-access.js';
import { topicLevelsError, topicNameError } from '../topics/validate.js';
import type { PublishedMessage } from '../types.js';

/**
 * PUBLISH from a client: authorize, route, then acknowledge. The ack goes out only once the
 * message is stored and emitted, so an acknowledged message is never lost. [MQTT-4.3.2-2]
 */
export function handlePublish(client: Client, packet: PublishPacket): void | Promise<void> {
  // Over maxPublishRate, the next packet of this client waits until it is back under the rate.
  const paced = client.publishRate?.charge(packet.payload.length);
  if (!paced) return publish(client, packet);
  return Promise.all([publish(client, packet), paced]).then(() => undefined);
}

function publish(client: Client, packet: PublishPacket): void | Promise<void> {
  const server = client.server;
  // Only a plain QoS 1 publish is routed beside those ahead of it (no hook may reorder them, no
  // retained message a later packet could ask for); any other waits until they are acknowledged.
  const alongside = packet.qos === 1 && !packet.retain && !server.authorizePublish && !server.published;
  const ahead = alongside ? null : client.routing;
  if (ahead) return ahead.then(() => publish(client, packet));
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  const message = server.messageIds.message(packet.topic, payload, packet.qos, packet.retain);
  // Only a 5.0 PUBLISH has properties (an empty list included): its topic may be an alias, and is
  // checked once resolved. A 3.1.1 topic name was checked by PacketReader.
  if (packet.properties !== undefined && !readV5(client, packet, message)) return;
  const levelsError = topicLevelsError(message.topic, server.settings.maxTopicLevels);
  if (levelsError) return client.limitExceeded('topicTooDeep', `PUBLISH: topic name: ${levelsError}`);
  const stats = server.stats;
  stats.publishReceived++;
  stats.receivedByQos[packet.qos]++;
  if (stats.latency.armed) stats.latency.start(message);
  const messageId = packet.messageId!;
  if (message.topic.charCodeAt(0) === 36 /* $ */ && !clientMayPublish(message.topic)) {
    if (alongside) return client.acknowledgeInOrder(Promise.resolve(), () => dropReserved(client, message, messageId));
    return dropReserved(client, message, messageId);
  }
  if (packet.qos === 2) return publishExactlyOnce(client, message, messageId);
  // The QoS 0 fast path: no hook, nothing to acknowledge, so nothing to wait for. Routing calls
  // are still made in arrival order, which keeps the order per publisher.
  if (packet.qos === 0 && !server.authorizePublish) {
    const routed = server.route(message, client);
    if (routed) routed.catch((error: unknown) => client.logger.error({ err: error }, 'publish failed'));
    return;
  }
  if (alongside) {
    const routed = server.route(message, client) ?? Promise.resolve();
    return client.acknowledgeInOrder(routed, () => client.write({ cmd: 'puback', messageId, reasonCode: Reason.Success })); // [MQTT-3.4.2-1]
  }
  return authorizeAndRoute(client, message).then((reasonCode) => {
    if (packet.qos === 1 && !client.closing) client.write({ cmd: 'puback', messageId, reasonCode, properties: refusalProperties(reasonCode) }); // [MQTT-3.4.2-1]
  });
}

/**
 * The MQTT 5 part of a PUBLISH: its Topic Alias resolved and its properties kept on the message.
 * False when the packet broke the protocol (the connection is then closing).
 */
function readV5(client: Client, packet: PublishPacket, message: PublishedMessage): boolean {
  const { topicAlias, subscriptionIdentifier, responseTopic } = packet.properties!;
  const violation = (text: string, reasonCode: number = Reason.ProtocolError): false => {
    client.protocolError(new ProtocolViolation(text, reasonCode));
    return false;
  };
  // [MQTT-3.3.4-6] Subscription Identifiers go from the server to clients only.
  if (subscriptionIdentifier !== undefined) return violation('PUBLISH from a client with a Subscription Identifier');
  if (topicAlias !== undefined) {
    // [MQTT-3.3.2-8] [MQTT-3.3.2-9] from 1 to the Topic Alias Maximum the broker gave.
    if (topicAlias === 0 || topicAlias > client.server.settings.topicAliasMaximum) return violation(`Topic Alias ${topicAlias} out of range`, Reason.TopicAliasInvalid);
    const topic = client.mqtt5!.resolveAlias(topicAlias, message.topic);
    if (topic === undefined) return violation(`Topic Alias ${topicAlias} was never set`);
    message.topic = topic;
  } else if (message.topic === '') {
    return violation('PUBLISH without a topic or a Topic Alias');
  }
  // [MQTT-3.3.2-2] no wildcards (the string rules were checked by PacketReader).
  const topicError = topicNameError(message.topic);
  if (topicError) return violation(`PUBLISH: topic name: ${topicError}`, Reason.TopicNameInvalid);
  // [MQTT-3.3.2-14] a Response Topic is a topic name: no wildcards.
  if (responseTopic !== undefined && topicNameError(responseTopic)) return violation('Response Topic is not a valid topic name');
  try {
    const properties = messagePropertiesOf(packet.properties!);
    // [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20] forwarded unaltered.
    if (properties) message.properties = properties;
    const expiresAt = expiryOf(properties);
    if (expiresAt !== undefined) message.expiresAt = expiresAt;
  } catch (error) {
    client.protocolError(error as Error);
    return false;
  }
  return true;
}

/**
 * QoS 2 inbound: a PUBLISH re-sent with an id not yet released is acknowledged, not delivered
 * again [MQTT-4.3.3-2]. A refusal (5.0) ends the exchange at once: its id is free again.
 */
async function publishExactlyOnce(client: Client, message: PublishedMessage, messageId: number): Promise<void> {
  let reasonCode: number = Reason.Success;
  if (client.receivedQos2(messageId)) {
    if (client.durable && client.server.incomingViaEmitter) {
      // The Emitter records the id as it publishes, and tells a re-send (Emitter.publishOnce).
      reasonCode = await authorizeAndRoute(client, message, messageId);
    } else {
      // A durable session may have received this id before a reconnect: the Store decides.
      const fresh = client.durable ? await storeIncoming(client, messageId) : true;
      if (fresh) reasonCode = await authorizeAndRoute(client, message);
    }
    if (reasonCode >= Reason.UnspecifiedError) {
      client.releasedQos2(messageId);
      if (client.durable) await client.persist((id) => client.server.store.removeIncoming(id, messageId));
    }
  }
  if (!client.closing) client.write({ cmd: 'pubrec', messageId, reasonCode, properties: refusalProperties(reasonCode) }); // [MQTT-3.5.2-1]
}

/**
 * A PUBLISH to `$SYS` or `$CONTROL`: acknowledged and dropped (Mosquitto's answer), so that no
 * client can pose as the broker or as another broker instance. A 5.0 client's ack says 0x87.
 */
function dropReserved(client: Client, message: PublishedMessage, messageId: number): void {
  client.server.stats.drop('reservedTopic');
  client.server.rateLimitedLog.warn('reservedTopic', { clientId: client.id, topic: message.topic }, 'a client published to a topic reserved for the broker: dropped');
  const reasonCode = client.protocolVersion === 5 ? Reason.NotAuthorized : Reason.Success;
  if (message.qos === 1) client.write({ cmd: 'puback', messageId, reasonCode, properties: refusalProperties(reasonCode) });
  else if (message.qos === 2) client.write({ cmd: 'pubrec', messageId, reasonCode, properties: refusalProperties(reasonCode) });
}

/** A Reason String on a refused publish's acknowledgement (left out for clients that do not want one). */
function refusalProperties(reasonCode: number): { reasonString: string } | undefined {
  return reasonCode >= Reason.UnspecifiedError ? { reasonString: 'the publish was refused by the broker' } : undefined;
}

function storeIncoming(client: Client, messageId: number): Promise<boolean> {
  let fresh = true;
  return client
    .persist(async (id) => {
      fresh = await client.server.store.putIncoming(id, messageId);
    })
    .then(() => fresh);
}

/**
 * Runs authorizePublish (which may replace the payload or ask to ignore) and routes. Resolves with
 * the reason code the publisher's acknowledgement carries.
 */
async function authorizeAndRoute(client: Client, message: PublishedMessage, packetId?: number): Promise<number> {
  const server = client.server;
  if (server.authorizePublish) {
    const v5 = client.protocolVersion === 5;
    let verdict: boolean | Buffer | 'ignore';
    let refusal: number = Reason.NotAuthorized;
    try {
      verdict = await callHook<boolean | Buffer | 'ignore'>(server, 'authorizePublish', [client, message.topic, message.payload], [message]);
    } catch (error) {
      // An error, called back or thrown (reported by callHook), refuses.
      verdict = false;
      refusal = refusalCode(error, Reason.NotAuthorized);
    }
    if (verdict === 'ignore') return Reason.Success;
    if (!verdict) {
      client.logger.warn({ topic: message.topic }, 'publish not authorized');
      // 5.0 says so in the acknowledgement; 3.1.1 (and Mosca) close the connection.
      if (v5) return refusal;
      await client.close('publish not authorized');
      return Reason.NotAuthorized;
    }
    if (Buffer.isBuffer(verdict)) message = { ...message, payload: verdict };
  }
  await server.route(message, client, packetId);
  return Reason.Success;
}
