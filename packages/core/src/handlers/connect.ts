import { randomUUID } from 'node:crypto';
import type { Client } from '../connection/client.js';
import type { ConnectPacket } from '../connection/inbound-packets.js';
import { Mqtt5Connection } from '../connection/mqtt5-connection.js';
import { messagePropertiesOf, type DecodedProperties, type OutgoingProperties } from '../connection/properties.js';
import { ProtocolViolation, Reason, refusalCode } from '../connection/reason-codes.js';
import { callHook } from '../hooks.js';
import { PublishRateLimiter } from '../limits/publish-rate.js';
import type { RefusalReason } from '../sys/broker-stats.js';
import { clientMayPublish } from '../sys/topic-access.js';
import { topicLevelsError, topicNameError } from '../topics/validate.js';
import type { QoS } from '../types.js';
import { startAuthentication } from './auth.js';
import { isSharedFilter } from '../topics/shared-filter.js';
import { willDelayMs } from '../connection/session.js';

/** The largest Maximum Packet Size MQTT can state (a four-byte remaining length and its header). */
const LARGEST_PACKET = 268_435_460;
/** A 3.1.1 durable session outlives its connection until the Store's `ttl.subscriptions`. */
const UNTIL_STORE_TTL = 0xffffffff;

/** What CONNECT established for the CONNACK that answers it, possibly after an AUTH exchange. */
export interface PendingConnect {
  packet: ConnectPacket;
  assignedClientIdentifier?: string;
  serverKeepAlive?: number;
  /** MQTT 5 enhanced authentication: the method, and the data for the successful CONNACK. */
  authentication?: { method: string; data?: Buffer };
}

/** The refusal counter a CONNACK reason code counts in. */
function refusalReason(reasonCode: number): RefusalReason {
  switch (reasonCode) {
    case Reason.UnsupportedProtocolVersion:
      return 'protocolVersion';
    case Reason.ClientIdentifierNotValid:
      return 'identifierRejected';
    case Reason.ServerBusy:
      return 'maxConnections';
    case Reason.BadUserNameOrPassword:
      return 'badCredentials';
    case Reason.NotAuthorized:
      return 'notAuthorized';
    default:
      return 'other';
  }
}

/** CONNACK with a refusal, then the connection closes. [MQTT-3.2.2-6] [MQTT-3.2.2-7] */
export function refuse(client: Client, reasonCode: number, reason: string, properties?: OutgoingProperties): Promise<void> {
  client.server.stats.refuse(refusalReason(reasonCode));
  client.logger.info({ clientId: client.id, reasonCode }, `connection refused: ${reason}`);
  const v5 = client.protocolVersion === 5;
  client.write({ cmd: 'connack', reasonCode, sessionPresent: false, properties: v5 ? { reasonString: reason, ...properties } : undefined });
  return client.close(reason);
}

/** Why a 5.0 CONNECT's properties are a Protocol Error (section 3.1.2.11), or null. */
function connectPropertiesError(properties: DecodedProperties): string | null {
  if (properties.receiveMaximum === 0) return 'Receive Maximum of 0';
  if (properties.maximumPacketSize === 0) return 'Maximum Packet Size of 0';
  const flags = [properties.requestResponseInformation, properties.requestProblemInformation];
  if (flags.some((flag) => flag !== undefined && flag !== 0 && flag !== 1)) return 'a request flag other than 0 or 1';
  if (properties.authenticationData !== undefined && properties.authenticationMethod === undefined) return 'Authentication Data without an Authentication Method';
  return null;
}

/**
 * CONNECT: checks the packet, settles the client's identity and keepalive, then authenticates
 * (through an AUTH exchange when a 5.0 client names a method) and accepts.
 */
export function handleConnect(client: Client, packet: ConnectPacket): Promise<void> {
  const server = client.server;
  const level = packet.protocolVersion ?? 4;
  client.protocolVersion = level;
  const v5 = level === 5;
  const properties = packet.properties ?? {};
  if (v5) {
    const problem = connectPropertiesError(properties);
    if (problem) return Promise.resolve(client.protocolError(new ProtocolViolation(problem, Reason.ProtocolError)));
    client.mqtt5 = new Mqtt5Connection(properties, server.settings.receiveMaximum);
    client.outbound.limitWindow(client.mqtt5.receiveMaximum); // [MQTT-3.3.4-9]
    client.sessionExpiryInterval = properties.sessionExpiryInterval ?? 0;
  } else {
    client.sessionExpiryInterval = packet.clean === false ? UNTIL_STORE_TTL : 0;
  }
  const redirect = server.settings.redirect;
  if (redirect) {
    const reasonCode = redirect.permanent ? Reason.ServerMoved : Reason.UseAnotherServer;
    return refuse(client, reasonCode, redirect.permanent ? 'server moved' : 'use another server', { serverReference: redirect.serverReference });
  }

  const pending: PendingConnect = { packet };
  let clientId = packet.clientId;
  if (clientId === '') {
    // 3.1.1 allows an empty id only with a clean session [MQTT-3.1.3-8], 3.1 never; 5.0 always.
    if (!v5 && (!packet.clean || level === 3)) return refuse(client, Reason.ClientIdentifierNotValid, 'identifier rejected');
    // [MQTT-3.1.3-6] [MQTT-3.1.3-7] a unique id, which a 5.0 client is told. [MQTT-3.2.2-16]
    clientId = `skynet_${randomUUID()}`;
    if (v5) pending.assignedClientIdentifier = clientId;
  }
  client.id = clientId;
  // Before authentication: a broker at capacity spends nothing more on the client. 3.1.1 hears 3.
  if (!server.admit(client)) return refuse(client, Reason.ServerBusy, 'server busy: maxConnections reached');
  client.clean = packet.clean !== false;
  client.keepalive = packet.keepalive ?? 0;
  const maxKeepalive = server.settings.maxKeepalive;
  if (maxKeepalive > 0 && (client.keepalive === 0 || client.keepalive > maxKeepalive)) {
    // 3.1.1 cannot tell a client to use another keepalive: refused, as Mosquitto does.
    if (!v5) return refuse(client, Reason.ClientIdentifierNotValid, `keepalive must be from 1 to ${maxKeepalive} seconds`);
    client.keepalive = pending.serverKeepAlive = maxKeepalive; // [MQTT-3.2.2-21] [MQTT-3.2.2-22]
  }
  if (packet.will) {
    const error = topicNameError(packet.will.topic) ?? topicLevelsError(packet.will.topic, server.settings.maxTopicLevels);
    if (error) {
      if (v5) return refuse(client, Reason.TopicNameInvalid, `invalid will topic: ${error}`);
      return Promise.resolve(client.protocolError(new ProtocolViolation(`CONNECT: will topic: ${error} [MQTT-3.1.3-10]`)));
    }
    // A will on $SYS or $CONTROL would be a publish no client may make: refused at once, as Mosquitto does.
    if (!clientMayPublish(packet.will.topic)) return refuse(client, Reason.NotAuthorized, 'will topic reserved for the broker');
    const payload = packet.will.payload;
    client.will = {
      topic: packet.will.topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: (packet.will.qos ?? 0) as QoS,
      retain: packet.will.retain === true,
    };
    try {
      const willProperties = v5 ? messagePropertiesOf(packet.will.properties ?? {}) : undefined;
      if (willProperties) client.will.properties = willProperties; // [MQTT-3.1.3-10] in order
      client.willDelayInterval = packet.will.properties?.willDelayInterval ?? 0;
    } catch (error) {
      return Promise.resolve(client.protocolError(error as Error));
    }
  }
  const method = properties.authenticationMethod;
  if (method !== undefined) return startAuthentication(client, pending, method, properties.authenticationData);
  return acceptConnect(client, pending);
}

/**
 * Runs the `authenticate` hook, takes the session over, restores it, answers CONNACK and starts
 * delivering what the session owed the client.
 */
export async function acceptConnect(client: Client, pending: PendingConnect): Promise<void> {
  const server = client.server;
  const { packet } = pending;
  const clientId = client.id;
  if (server.authenticate) {
    let allowed: boolean;
    try {
      allowed = await callHook<boolean>(server, 'authenticate', [client, packet.username, packet.password]);
    } catch (error) {
      client.logger.info({ clientId, err: error }, 'authentication denied');
      // A hook may give a 5.0 reason code; 3.1.1 hears "bad user name or password" (4) as before.
      return refuse(client, refusalCode(error, Reason.BadUserNameOrPassword), 'authentication denied');
    }
    if (!allowed) return refuse(client, Reason.NotAuthorized, 'not authorized');
    client.authenticated = packet.username !== undefined;
  }
  if (client.closing) return;

  // [MQTT-3.1.4-2] an existing connection with this id is closed first. [MQTT-3.1.4-3]
  await server.takeOver(client);
  if (client.closing) return;
  // From here the session exists: whatever happens next, closing must end it properly.
  client.sessionStarted = true;

  // [MQTT-3.1.3-9] a will waiting for its delay is not sent now the client is back; but a Clean
  // Start ends the session it belonged to, which sends it at once.
  const delayedWill = server.delayedWills.cancel(clientId);
  if (delayedWill && packet.clean !== false) delayedWill();
  const store = server.store;
  let sessionPresent = false;
  let stored = false;
  if (packet.clean !== false) {
    await store.deleteSession(clientId); // [MQTT-3.1.2-4] (3.1.1: [MQTT-3.1.2-6])
  } else {
    const subscriptions = await store.getSession(clientId);
    if (client.closing) return;
    if (subscriptions) {
      stored = sessionPresent = true; // [MQTT-3.1.2-5] [MQTT-3.2.2-3]
      client.subscribedAt = server.routedCount;
      for (const subscription of subscriptions) {
        client.subscriptions[subscription.topic] = subscription;
        if (isSharedFilter(subscription.topic)) server.shared.join(client, subscription);
        else server.router.subscribe(client, subscription);
      }
    }
  }
  // The session lives in the Store while it may outlive the connection; a 5.0 session resumed
  // with a Session Expiry Interval of 0 is served from the Store too, and ends with the connection.
  client.clean = client.sessionExpiryInterval === 0 && !stored;
  if (client.durable) {
    if (!stored) await store.createSession(clientId); // [MQTT-3.1.2-6]
    await store.setConnected(clientId, true, client.sessionExpiryMs);
  }
  // With its delay, so that an instance taking over for this one, should it die, honours it.
  const willDelay = willDelayMs(client);
  if (client.will) await store.putWill(clientId, willDelay > 0 ? { ...client.will, delayMs: willDelay } : client.will);
  // A clean start deleted any will above; a durable one may hold a taken-over connection's.
  else if (client.durable) await store.deleteWill(clientId);
  // Read before CONNACK, so that CONNACK, `connected` and clientConnected happen in one step: a
  // close cannot fall between them, and a connection that got CONNACK always has its events.
  const unacknowledged = client.durable ? await store.getOutgoing(clientId) : null;
  if (client.closing) return;

  const properties = client.protocolVersion === 5 ? connackProperties(client, pending) : undefined;
  client.write({ cmd: 'connack', reasonCode: Reason.Success, sessionPresent, properties }); // [MQTT-3.2.0-1]
  // Until `connected` is set, deliveries wait, behind what the session already owed the client:
  // unacknowledged packets first, then the Store's queue (the offline queue). [MQTT-4.6.0-1]
  if (unacknowledged) client.outbound.restore(unacknowledged); // [MQTT-4.4.0-1]
  client.connected = true;
  if (server.settings.maxPublishRate) client.publishRate = new PublishRateLimiter(client, server.settings.maxPublishRate);
  server.announceConnected(client);
  if (client.durable) client.outbound.readStore();
  else client.outbound.pump();
}

/** What the broker tells a 5.0 client in CONNACK: what it supports, and what it decided. */
function connackProperties(client: Client, pending: PendingConnect): OutgoingProperties {
  const settings = client.server.settings;
  return {
    retainAvailable: true,
    maximumPacketSize: Math.min(settings.maxPacketSize, LARGEST_PACKET),
    wildcardSubscriptionAvailable: true,
    // Absent means 65,535 (section 3.2.2.3.3).
    receiveMaximum: settings.receiveMaximum < 65_535 ? settings.receiveMaximum : undefined,
    // Absent means 0: no aliases. [MQTT-3.2.2-18]
    topicAliasMaximum: settings.topicAliasMaximum || undefined,
    subscriptionIdentifiersAvailable: true,
    sharedSubscriptionAvailable: true,
    assignedClientIdentifier: pending.assignedClientIdentifier,
    serverKeepAlive: pending.serverKeepAlive,
    // [MQTT-3.1.2-28] only to a client that asked for it.
    responseInformation: client.connectProperties?.requestResponseInformation === 1 ? settings.responseInformation : undefined,
    // [MQTT-4.12.0-5] the method of the exchange, on a successful CONNACK too.
    authenticationMethod: pending.authentication?.method,
    authenticationData: pending.authentication?.data,
  };
}
