import type { IPublishPacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';
import { callHook } from '../hooks.js';
import { clientMayPublish } from '../sys/topic-access.js';
import { topicNameError } from '../topics/validate.js';
import type { Message } from '../types.js';

/**
 * PUBLISH from a client: authorize, route, then acknowledge. The ack goes out only once the
 * message is stored and emitted, so an acknowledged message is never lost. [MQTT-4.3.2-2]
 */
export function handlePublish(client: Client, packet: IPublishPacket): void | Promise<void> {
  const topicError = topicNameError(packet.topic, client.server.settings.maxTopicLevels);
  if (topicError) {
    client.logger.warn({ topic: packet.topic, reason: topicError }, 'invalid topic name in PUBLISH, closing');
    return client.close('protocol violation');
  }
  const server = client.server;
  server.stats.publishReceived++;
  if (packet.topic.charCodeAt(0) === 36 /* $ */ && !clientMayPublish(packet.topic)) return dropReserved(client, packet);
  const message: Message = {
    topic: packet.topic,
    payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
    qos: packet.qos,
    retain: packet.retain,
  };
  const messageId = packet.messageId!;
  if (packet.qos === 2) return publishExactlyOnce(client, message, messageId);
  // The QoS 0 fast path: no hook, nothing to acknowledge, so nothing to wait for. Routing calls
  // are still made in arrival order, which keeps the order per publisher.
  if (packet.qos === 0 && !server.authorizePublish) {
    const routed = server.route(message, client);
    if (routed) routed.catch((error: unknown) => client.logger.error({ err: error }, 'publish failed'));
    return;
  }
  return authorizeAndRoute(client, message).then(() => {
    if (packet.qos === 1) client.write({ cmd: 'puback', messageId });
  });
}

/**
 * A PUBLISH to `$SYS` or `$CONTROL`: acknowledged as usual and dropped (Mosquitto's answer), so
 * that no client can pose as the broker or as another broker instance.
 */
function dropReserved(client: Client, packet: IPublishPacket): void {
  client.server.stats.drop('reservedTopic');
  client.server.rateLimitedLog.warn('reservedTopic', { clientId: client.id, topic: packet.topic }, 'a client published to a topic reserved for the broker: dropped');
  if (packet.qos === 1) client.write({ cmd: 'puback', messageId: packet.messageId! });
  else if (packet.qos === 2) client.write({ cmd: 'pubrec', messageId: packet.messageId! });
}

/** QoS 2 inbound: a PUBLISH re-sent with an id not yet released is acknowledged, not delivered again. [MQTT-4.3.3-2] */
async function publishExactlyOnce(client: Client, message: Message, messageId: number): Promise<void> {
  if (client.receivedQos2(messageId)) {
    // A durable session may have received this id before a reconnect: the Store decides.
    const fresh = client.durable ? await storeIncoming(client, messageId) : true;
    if (fresh) await authorizeAndRoute(client, message);
  }
  client.write({ cmd: 'pubrec', messageId });
}

function storeIncoming(client: Client, messageId: number): Promise<boolean> {
  let fresh = true;
  return client
    .persist(async (id) => {
      fresh = await client.server.store.putIncoming(id, messageId);
    })
    .then(() => fresh);
}

/** Runs authorizePublish (which may replace the payload or ask to ignore) and routes. */
async function authorizeAndRoute(client: Client, message: Message): Promise<void> {
  const hook = client.server.authorizePublish;
  if (hook) {
    const verdict = await callHook<boolean | Buffer | 'ignore'>(hook, client.server, [client, message.topic, message.payload]);
    if (verdict === 'ignore') return;
    if (!verdict) {
      // Mosca's and 3.1.1's rule: a publish that is refused closes the connection.
      client.logger.warn({ topic: message.topic }, 'publish not authorized');
      await client.close('publish not authorized');
      return;
    }
    if (Buffer.isBuffer(verdict)) message = { ...message, payload: verdict };
  }
  await client.server.route(message, client);
}
