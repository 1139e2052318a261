import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';
import type { AckResult } from '../connection/outbound-queue.js';
import { ProtocolError } from '../connection/protocol-error.js';

/**
 * Whether the flow goes on after an acknowledgement. One that does not fit its packet closes the
 * connection; one for an id not in flight is ignored, as Mosquitto does: the specification is
 * silent, and a client may legitimately repeat an acknowledgement the broker already took.
 */
function accepted(client: Client, name: string, messageId: number, result: AckResult, rule: string): boolean {
  if (result === 'mismatch') {
    client.protocolError(new ProtocolError(`${name} does not answer the packet in flight with identifier ${messageId} ${rule}`));
    return false;
  }
  if (result === 'unknown') client.logger.debug({ clientId: client.id, messageId }, `${name} for a packet identifier not in flight, ignored`);
  return true;
}

/** PUBACK from the client ends a QoS 1 delivery; it answers a QoS 1 PUBLISH only. [MQTT-4.3.2-2] */
export function handlePuback(client: Client, packet: IPubackPacket): void {
  const messageId = packet.messageId!;
  accepted(client, 'PUBACK', messageId, client.outbound.complete(messageId, 1), '[MQTT-4.3.3-2]');
}

/**
 * PUBREC from the client: answer PUBREL and keep only the release pending [MQTT-4.3.3-1]. It
 * answers a QoS 2 PUBLISH only [MQTT-4.3.2-2]; for an id not in flight PUBREL is sent all the
 * same (Mosquitto does too), so the client can end its side of the exchange.
 */
export function handlePubrec(client: Client, packet: IPubrecPacket): void {
  const messageId = packet.messageId!;
  if (accepted(client, 'PUBREC', messageId, client.outbound.received(messageId), '[MQTT-4.3.2-2]')) {
    client.write({ cmd: 'pubrel', messageId });
  }
}

/** PUBCOMP from the client ends a QoS 2 delivery; it answers a PUBREL only. [MQTT-4.3.3-2] */
export function handlePubcomp(client: Client, packet: IPubcompPacket): void {
  const messageId = packet.messageId!;
  accepted(client, 'PUBCOMP', messageId, client.outbound.complete(messageId, 2), '[MQTT-4.3.2-2] [MQTT-4.3.3-2]');
}
