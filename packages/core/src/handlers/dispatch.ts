import type { Client, Packet } from '../connection/client.js';
import { ProtocolViolation, Reason } from '../connection/reason-codes.js';
import { handleAuth, isAuthenticating } from './auth.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePuback, handlePubcomp, handlePubrec } from './acknowledgements.js';
import { handlePublish } from './publish.js';
import { handlePubrel } from './pubrel.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

type Handler = (client: Client, packet: never) => void | Promise<void>;

/** The control packets a client may send once connected, each with its handler (PacketReader refuses the others). */
const HANDLERS: Partial<Record<Packet['cmd'], Handler>> = {
  publish: handlePublish,
  puback: handlePuback,
  pubrec: handlePubrec,
  pubrel: handlePubrel,
  pubcomp: handlePubcomp,
  subscribe: handleSubscribe,
  unsubscribe: handleUnsubscribe,
  pingreq: handlePingreq,
  disconnect: handleDisconnect,
  auth: handleAuth,
};

/** Routes one packet to its handler; the result is a promise when the handler is asynchronous. */
export function dispatch(client: Client, packet: Packet): void | Promise<void> {
  if (packet.cmd === 'connect') {
    if (client.id !== '') return client.protocolError(new ProtocolViolation('a second CONNECT [MQTT-3.1.0-2]', Reason.ProtocolError));
    return handleConnect(client, packet);
  }
  // [MQTT-3.1.2-30] while an AUTH exchange decides on the CONNECT, only AUTH or DISCONNECT.
  if (isAuthenticating(client) && packet.cmd !== 'auth' && packet.cmd !== 'disconnect') {
    return client.protocolError(new ProtocolViolation(`${packet.cmd.toUpperCase()} during an AUTH exchange [MQTT-3.1.2-30]`, Reason.ProtocolError));
  }
  // Packets read behind a CONNECT that was refused.
  if (!client.connected && !isAuthenticating(client)) return client.close('protocol violation');
  return HANDLERS[packet.cmd]!(client, packet as never);
}
