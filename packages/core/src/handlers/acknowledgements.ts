import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';
import { Reason } from '../connection/reason-codes.js';

/** PUBACK from the client ends a QoS 1 delivery, whatever its reason code. [MQTT-4.3.2] */
export function handlePuback(client: Client, packet: IPubackPacket): void {
  client.outbound.complete(packet.messageId!, 1);
}

/**
 * PUBREC from the client: answer PUBREL and keep only the release pending [MQTT-4.3.3-1]. A 5.0
 * PUBREC with a reason code of 0x80 or more ends the delivery there: no PUBREL follows.
 */
export function handlePubrec(client: Client, packet: IPubrecPacket): void {
  const messageId = packet.messageId!;
  if ((packet.reasonCode ?? Reason.Success) >= Reason.UnspecifiedError) return client.outbound.complete(messageId, 2);
  if (client.outbound.received(messageId)) client.write({ cmd: 'pubrel', messageId });
}

/** PUBCOMP from the client ends a QoS 2 delivery. */
export function handlePubcomp(client: Client, packet: IPubcompPacket): void {
  client.outbound.complete(packet.messageId!, 2);
}
