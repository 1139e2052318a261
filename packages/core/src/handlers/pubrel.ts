import type { IPubrelPacket } from 'mqtt-packet';
import type { Client } from '../connection/client.js';

/**
 * PUBREL from the client releases an inbound QoS 2 packet id: from now on a PUBLISH with that id
 * is a new message. PUBCOMP is sent even for an unknown id, since the client may be retrying
 * after a reconnect. [MQTT-4.3.3-2]
 */
export function handlePubrel(client: Client, packet: IPubrelPacket): void | Promise<void> {
  const messageId = packet.messageId!;
  client.releasedQos2(messageId);
  const answer = () => client.write({ cmd: 'pubcomp', messageId });
  // A durable session's ids live in the Store too, possibly from an earlier connection.
  if (!client.durable) return answer();
  return client.persist((id) => client.server.store.removeIncoming(id, messageId)).then(answer);
}
