import type { DisconnectPacket } from '../connection/inbound-packets.js';
import type { Client } from '../connection/client.js';
import { ProtocolViolation, Reason } from '../connection/reason-codes.js';

/**
 * DISCONNECT from the client: the server closes the connection [MQTT-3.14.4-1]. The will is
 * discarded [MQTT-3.14.4-3], unless a 5.0 client says 0x04 "Disconnect with Will Message". A 5.0
 * client may change its Session Expiry Interval here, but not from 0 (section 3.14.2.2.2).
 */
export function handleDisconnect(client: Client, packet: DisconnectPacket): Promise<void> | void {
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    if (client.sessionExpiryInterval === 0 && expiry !== 0) {
      return client.protocolError(new ProtocolViolation('Session Expiry Interval set by DISCONNECT after CONNECT gave 0', Reason.ProtocolError));
    }
    client.sessionExpiryInterval = expiry;
  }
  if (packet.reasonCode !== Reason.DisconnectWithWill) client.will = null;
  return client.close('disconnect request');
}
