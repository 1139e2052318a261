import type { IPubackPacket, IPubcompPacket, IPubrecPacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';

/** PUBACK from the client ends a QoS 1 delivery. [MQTT-4.3.2] */
export function handlePuback(client: Client, packet: IPubackPacket): void {
  client.outbound.complete(packet.messageId!, 1);
}

/** PUBREC from the client: answer PUBREL and keep only the release pending. [MQTT-4.3.3-1] */
export function handlePubrec(client: Client, packet: IPubrecPacket): void {
  if (client.outbound.received(packet.messageId!)) client.write({ cmd: 'pubrel', messageId: packet.messageId! });
}

/** PUBCOMP from the client ends a QoS 2 delivery. */
export function handlePubcomp(client: Client, packet: IPubcompPacket): void {
  client.outbound.complete(packet.messageId!, 2);
}
