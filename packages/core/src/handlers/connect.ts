import { randomUUID } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';
import { callHook } from '../hooks.js';
import { clientMayPublish } from '../sys/topic-access.js';
import { topicNameError } from '../topics/validate.js';
import type { QoS } from '../types.js';

/** CONNACK return codes of MQTT 3.1.1 [MQTT-3.2.2-4 .. -6]. */
const ACCEPTED = 0;
const UNACCEPTABLE_PROTOCOL = 1;
const IDENTIFIER_REJECTED = 2;
const BAD_CREDENTIALS = 4;
const NOT_AUTHORIZED = 5;

function refuse(client: Client, returnCode: number, reason: string): Promise<void> {
  client.logger.info({ clientId: client.id, returnCode }, reason);
  client.write({ cmd: 'connack', returnCode, sessionPresent: false }); // [MQTT-3.2.2-4]
  return client.close(reason);
}

/** CONNECT: checks, authenticates, takes the session over, restores it, answers CONNACK. */
export async function handleConnect(client: Client, packet: IConnectPacket): Promise<void> {
  const server = client.server;
  // MQTT 5 is not spoken yet: refuse it the 3.1.1 way. [MQTT-3.1.2-2]
  if (packet.protocolVersion !== 3 && packet.protocolVersion !== 4) {
    return refuse(client, UNACCEPTABLE_PROTOCOL, 'unacceptable protocol version');
  }
  client.protocolVersion = packet.protocolVersion;
  let clientId = packet.clientId;
  if (clientId === '') {
    // [MQTT-3.1.3-8] an empty id needs a clean session (and MQTT 3.1.1); [MQTT-3.1.3-6] we then make one.
    if (!packet.clean || packet.protocolVersion === 3) {
      return refuse(client, IDENTIFIER_REJECTED, 'identifier rejected');
    }
    clientId = `skynet_${randomUUID()}`;
  }
  client.id = clientId;
  client.clean = packet.clean !== false;
  client.keepalive = packet.keepalive ?? 0;
  if (packet.will) {
    const error = topicNameError(packet.will.topic, server.settings.maxTopicLevels);
    if (error) {
      client.logger.warn({ clientId, reason: error }, 'invalid will topic, closing');
      return client.close('protocol violation');
    }
    // A will on $SYS or $CONTROL would be a publish no client may make: refused at once, as Mosquitto does.
    if (!clientMayPublish(packet.will.topic)) return refuse(client, NOT_AUTHORIZED, 'will topic reserved for the broker');
    const payload = packet.will.payload;
    client.will = {
      topic: packet.will.topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: (packet.will.qos ?? 0) as QoS,
      retain: packet.will.retain === true,
    };
  }

  if (server.authenticate) {
    let allowed: boolean;
    try {
      allowed = await callHook<boolean>(server.authenticate, server, [client, packet.username, packet.password]);
    } catch (error) {
      client.logger.info({ clientId, err: error }, 'authentication denied');
      return refuse(client, BAD_CREDENTIALS, 'authentication denied');
    }
    if (!allowed) return refuse(client, NOT_AUTHORIZED, 'not authorized');
    client.authenticated = packet.username !== undefined;
  }
  if (client.closing) return;

  // [MQTT-3.1.4-2] an existing connection with this id is closed first.
  await server.takeOver(client);
  if (client.closing) return;
  // From here the session exists: whatever happens next, closing must end it properly.
  client.sessionStarted = true;

  const store = server.store;
  let sessionPresent = false;
  if (client.clean) {
    await store.deleteSession(clientId); // [MQTT-3.1.2-6]
  } else {
    const stored = await store.getSession(clientId);
    if (client.closing) return;
    if (stored) {
      sessionPresent = true; // [MQTT-3.2.2-2]
      for (const { topic, qos } of stored) {
        client.subscriptions[topic] = { qos };
        server.router.subscribe(client, topic, qos);
      }
    } else {
      await store.createSession(clientId);
    }
    await store.setConnected(clientId, true);
  }
  if (client.will) await store.putWill(clientId, client.will);
  // A clean start deleted any will above; a durable one may hold a taken-over connection's.
  else if (client.durable) await store.deleteWill(clientId);
  if (client.closing) return;

  client.write({ cmd: 'connack', returnCode: ACCEPTED, sessionPresent }); // [MQTT-3.2.0-1]
  // Until `connected` is set, deliveries wait, behind what the session already owed the client:
  // unacknowledged packets first, then the Store's queue (the offline queue). [MQTT-4.6.0-1]
  if (client.durable) client.outbound.restore(await store.getOutgoing(clientId)); // [MQTT-4.4.0-1]
  if (client.closing) return;
  client.connected = true;
  server.logger.info({ clientId }, 'client connected');
  server.emit('clientConnected', client);
  if (client.durable) client.outbound.startFromStore();
  else client.outbound.pump();
}
