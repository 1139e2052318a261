import type { Client } from '../connection/client.js';
import type { AcknowledgementPacket } from '../connection/inbound-packets.js';
import type { AckResult } from '../connection/outbound-queue.js';
import { ProtocolViolation, Reason } from '../connection/reason-codes.js';

/**
 * Whether the flow goes on after an acknowledgement. One that does not fit its packet in flight
 * closes the connection (as Mosquitto does); one for an id not in flight is ignored, as Mosquitto
 * does too: the specification is silent, and a client may repeat an acknowledgement the broker
 * already took.
 */
function accepted(client: Client, packet: AcknowledgementPacket, result: AckResult, rule: string): boolean {
  if (result === 'mismatch') {
    client.protocolError(new ProtocolViolation(`${packet.cmd.toUpperCase()} does not answer the packet in flight with identifier ${packet.messageId} ${rule}`, Reason.ProtocolError));
    return false;
  }
  if (result === 'unknown' && client.logs('debug')) {
    client.logger.debug({ clientId: client.id, messageId: packet.messageId }, `${packet.cmd.toUpperCase()} for a packet identifier not in flight, ignored`);
  }
  return true;
}

/** PUBACK from the client ends a QoS 1 delivery, whatever its reason code; it answers a QoS 1 PUBLISH only. [MQTT-4.3.3-2] */
export function handlePuback(client: Client, packet: AcknowledgementPacket): void {
  accepted(client, packet, client.outbound.complete(packet.messageId!, 'puback'), '[MQTT-4.3.3-2]');
}

/**
 * PUBREC from the client: answer PUBREL and keep only the release pending [MQTT-4.3.3-1]. It
 * answers a QoS 2 PUBLISH only [MQTT-4.3.2-2]; for an id not in flight PUBREL is sent all the
 * same (Mosquitto does too; a 5.0 client hears 0x92), so the client can end its side of the
 * exchange. A 5.0 PUBREC with a reason code of 0x80 or more ends the delivery there: no PUBREL.
 */
export function handlePubrec(client: Client, packet: AcknowledgementPacket): void {
  const messageId = packet.messageId!;
  if ((packet.reasonCode ?? Reason.Success) >= Reason.UnspecifiedError) {
    accepted(client, packet, client.outbound.complete(messageId, 'failed pubrec'), '[MQTT-4.3.2-2]');
    return;
  }
  const result = client.outbound.received(messageId);
  if (!accepted(client, packet, result, '[MQTT-4.3.2-2]')) return;
  const pubrel = () => client.write({ cmd: 'pubrel', messageId, reasonCode: result === 'unknown' ? Reason.PacketIdentifierNotFound : Reason.Success });
  // Once the Store knows the release: an instance resuming the session after a crash must not
  // send the PUBLISH again to a client that may have completed it (and would take it as new).
  if (client.durable) client.afterStoreWrites(pubrel);
  else pubrel();
}

/** PUBCOMP from the client ends a QoS 2 delivery; it answers a PUBREL only. [MQTT-4.3.2-2] [MQTT-4.3.3-2] */
export function handlePubcomp(client: Client, packet: AcknowledgementPacket): void {
  accepted(client, packet, client.outbound.complete(packet.messageId!, 'pubcomp'), '[MQTT-4.3.2-2] [MQTT-4.3.3-2]');
}
