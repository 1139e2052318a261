import type { AcknowledgementPacket } from '../connection/inbound-packets.js';
import type { Client } from '../connection/client.js';
import { Reason } from '../connection/reason-codes.js';

/**
 * PUBREL from the client releases an inbound QoS 2 packet id: from now on a PUBLISH with that id
 * is a new message. PUBCOMP is sent even for an unknown id, since the client may be retrying
 * after a reconnect [MQTT-4.3.3-2]; a 5.0 client hears 0x92 "Packet Identifier not found" when
 * the id is unknown for certain (a session that lives in memory only). [MQTT-3.7.2-1]
 */
export function handlePubrel(client: Client, packet: AcknowledgementPacket): void | Promise<void> {
  const messageId = packet.messageId!;
  const held = client.releasedQos2(messageId);
  const reasonCode = held || client.durable ? Reason.Success : Reason.PacketIdentifierNotFound;
  const answer = () => client.write({ cmd: 'pubcomp', messageId, reasonCode });
  // A durable session's ids live in the Store too, possibly from an earlier connection.
  if (!client.durable) return answer();
  return client.persist((id) => client.server.store.removeIncoming(id, messageId)).then(answer);
}
