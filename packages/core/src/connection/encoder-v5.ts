import { encodeProperties, NO_PROPERTIES, varintLength, writeVarint } from './properties.js';
import { PINGRESP, type ServerPacket } from './encoder.js';
import { Reason } from './reason-codes.js';

/** First bytes by packet type, reserved flags included (PUBREL's are 0010). [MQTT-2.1.3-1] */
const HEADER = { connack: 0x20, puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70, suback: 0x90, unsuback: 0xb0, disconnect: 0xe0, auth: 0xf0 } as const;

/** One packet from its first byte and the parts of its body, in one allocation. */
function frame(first: number, ...parts: (Buffer | readonly number[])[]): Buffer {
  let remaining = 0;
  for (const part of parts) remaining += part.length;
  const bytes = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining);
  bytes[0] = first;
  let offset = writeVarint(bytes, 1, remaining);
  for (const part of parts) {
    if (Buffer.isBuffer(part)) offset += part.copy(bytes, offset);
    else for (const byte of part) bytes[offset++] = byte;
  }
  return bytes;
}

const packetId = (id: number): number[] => [id >> 8, id & 0xff];

/** A packet for a 5.0 client: reason codes and properties as given. */
export function encodePacketV5(packet: ServerPacket): Buffer {
  switch (packet.cmd) {
    case 'connack':
      // [MQTT-3.2.2-6] session present is 0 with any reason code but Success.
      return frame(HEADER.connack, [packet.sessionPresent && packet.reasonCode === Reason.Success ? 1 : 0, packet.reasonCode], encodeProperties(packet.properties));
    case 'suback':
      return frame(HEADER.suback, packetId(packet.messageId), encodeProperties(packet.properties), packet.granted);
    case 'unsuback':
      return frame(HEADER.unsuback, packetId(packet.messageId), encodeProperties(packet.properties), packet.granted ?? []);
    case 'pingresp':
      return PINGRESP;
    case 'disconnect':
    case 'auth': {
      const properties = encodeProperties(packet.properties);
      // Reason code and properties may be left out when they are Success and none. [MQTT-3.14.2.1]
      if (packet.reasonCode === Reason.Success && properties === NO_PROPERTIES) return frame(HEADER[packet.cmd]);
      return frame(HEADER[packet.cmd], [packet.reasonCode], properties);
    }
    default: {
      // PUBACK, PUBREC, PUBREL, PUBCOMP: the short form when there is nothing but Success to say.
      const reasonCode = packet.reasonCode ?? Reason.Success;
      const properties = encodeProperties(packet.properties);
      if (properties !== NO_PROPERTIES) return frame(HEADER[packet.cmd], packetId(packet.messageId), [reasonCode], properties);
      if (reasonCode !== Reason.Success) return frame(HEADER[packet.cmd], packetId(packet.messageId), [reasonCode]);
      return frame(HEADER[packet.cmd], packetId(packet.messageId));
    }
  }
}
