import constants from 'mqtt-packet/constants.js';
import type { AcknowledgementPacket, AuthPacket, DisconnectPacket } from '../inbound-packets.js';
import { ACK_PROPERTIES, AUTH_PROPERTIES, DISCONNECT_PROPERTIES } from '../properties.js';
import { Fields } from './fields.js';

/**
 * The MQTT 5 packets that end in an optional reason code and optional properties (sections
 * 3.4–3.7, 3.14, 3.15): absent, the reason code is 0x00 Success. 3.1.1 acknowledgements carry
 * their packet id only and are decoded inline by PacketReader.
 */

const ACK_CODES = {
  puback: constants.MQTT5_PUBACK_PUBREC_CODES,
  pubrec: constants.MQTT5_PUBACK_PUBREC_CODES,
  pubrel: constants.MQTT5_PUBREL_PUBCOMP_CODES,
  pubcomp: constants.MQTT5_PUBREL_PUBCOMP_CODES,
};

/** PUBACK, PUBREC, PUBREL or PUBCOMP of MQTT 5: a packet id, then a reason code and properties. */
export function decodeAcknowledgement(cmd: keyof typeof ACK_CODES, buffer: Buffer, start: number, end: number): AcknowledgementPacket {
  const fields = new Fields(buffer, start, end, cmd.toUpperCase());
  const messageId = fields.packetId();
  const reasonCode = fields.remaining > 0 ? fields.reasonCode(ACK_CODES[cmd]) : 0;
  const properties = fields.remaining > 0 ? fields.properties(ACK_PROPERTIES) : undefined;
  fields.done('bytes after its properties');
  return { cmd, messageId, reasonCode, properties } as AcknowledgementPacket;
}

/** DISCONNECT of MQTT 5: a reason code and properties, both optional. */
export function decodeDisconnect(buffer: Buffer, start: number, end: number): DisconnectPacket {
  const fields = new Fields(buffer, start, end, 'DISCONNECT');
  const reasonCode = fields.remaining > 0 ? fields.reasonCode(constants.MQTT5_DISCONNECT_CODES) : 0;
  const properties = fields.remaining > 0 ? fields.properties(DISCONNECT_PROPERTIES) : undefined;
  fields.done('bytes after its properties');
  return { cmd: 'disconnect', reasonCode, properties };
}

/** AUTH of MQTT 5: a reason code and properties, both optional. [MQTT-3.15.2-1] */
export function decodeAuth(buffer: Buffer, start: number, end: number): AuthPacket {
  const fields = new Fields(buffer, start, end, 'AUTH');
  const reasonCode = fields.remaining > 0 ? fields.reasonCode(constants.MQTT5_AUTH_CODES) : 0;
  const properties = fields.remaining > 0 ? fields.properties(AUTH_PROPERTIES) : undefined;
  fields.done('bytes after its properties');
  return { cmd: 'auth', reasonCode, properties };
}
