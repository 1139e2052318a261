import type mqtt from 'mqtt-packet';
import mqttParser from 'mqtt-packet/parser.js';
import type { ProtocolLevel } from '../types.js';
import { CONNECT_PROPERTIES, decodeProperties, PUBLISH_PROPERTIES, WILL_PROPERTIES, type DecodedProperties } from './properties.js';
import { ProtocolViolation, Reason } from './reason-codes.js';

/** Packets that carry a packet id and nothing else, by type. */
const ACKNOWLEDGEMENTS: Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' };
const CONNECT = 1;
const PINGREQ = 12;
const DISCONNECT = 14;

/** A PUBLISH as read here: MQTT 5 properties decoded in order (properties.ts), not mqtt-packet's way. */
export interface PublishPacket extends Omit<mqtt.IPublishPacket, 'properties'> {
  properties?: DecodedProperties;
}

/** A CONNECT, its own and its will's MQTT 5 properties decoded here as well. */
export interface ConnectPacket extends Omit<mqtt.IConnectPacket, 'properties' | 'will'> {
  properties?: DecodedProperties;
  will?: Omit<NonNullable<mqtt.IConnectPacket['will']>, 'properties'> & { properties?: DecodedProperties };
}

/** The packets a reader hands on. */
export type InboundPacket = Exclude<mqtt.Packet, mqtt.IPublishPacket | mqtt.IConnectPacket> | PublishPacket | ConnectPacket;

/** Where a reader's packets and errors go: the connection. */
export interface PacketOwner {
  receive(packet: InboundPacket): void;
  protocolError(error: Error): void;
  /** The protocol level a CONNECT announced, known before the rest of it is parsed. */
  levelAnnounced(level: ProtocolLevel): void;
}

/**
 * Splits a byte stream into MQTT packets. The fixed header is read here, so a packet larger than
 * `maxPacketSize` is refused from its first bytes, before it is buffered. The packets of the
 * message flow (PUBLISH, its acknowledgements, PINGREQ, DISCONNECT) are decoded here; the rare
 * others (CONNECT, SUBSCRIBE, UNSUBSCRIBE, and anything a client must not send) go through an
 * mqtt-packet parser made for that one packet, so an idle connection holds no parser.
 */
export class PacketReader {
  /** Bytes of an incomplete packet, kept as chunks and joined once the packet is complete. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed = false;
  private expectConnect = true;
  /** The connection's protocol level, from its CONNECT: 5 changes how packets are read. */
  private level: ProtocolLevel = 4;

  constructor(
    private readonly maxPacketSize: number,
    private readonly owner: PacketOwner,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    let buffer = chunk;
    if (this.buffered > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      const needed = this.neededBytes();
      if (needed === null || this.buffered < needed) return;
      buffer = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let offset = 0;
    while (offset < buffer.length && !this.failed) {
      // The first byte is checked at once, so a peer speaking another protocol is refused
      // without waiting for the length it seems to announce.
      const firstByteError = checkFirstByte(buffer[offset]!, this.level);
      if (firstByteError) return this.fail(new Error(firstByteError));
      // [MQTT-3.1.0-1] known from the first byte, before a large packet is waited for.
      if (this.expectConnect && buffer[offset]! >> 4 !== CONNECT) return this.fail(new Error('the first packet must be CONNECT'));
      const header = readFixedHeader(buffer, offset);
      if (header === 'malformed') return this.fail(new Error('malformed remaining length'));
      if (header !== null && header.length > this.maxPacketSize) {
        return this.fail(new ProtocolViolation(`packet of ${header.length} bytes is larger than maxPacketSize (${this.maxPacketSize})`, Reason.PacketTooLarge));
      }
      if (header === null || header.end > buffer.length) break;
      this.expectConnect = false;
      this.decode(buffer, offset, header.start, header.end);
      offset = header.end;
    }
    if (offset < buffer.length && !this.failed) {
      // Copied so that a small remainder does not keep a large chunk alive.
      const rest = Buffer.from(buffer.subarray(offset));
      this.chunks = [rest];
      this.buffered = rest.length;
    }
  }

  /** Total bytes of the incomplete packet, once its fixed header is complete. */
  private neededBytes(): number | null {
    const head = this.chunks[0]!.length >= 5 ? this.chunks[0]! : Buffer.concat(this.chunks).subarray(0, 5);
    const header = readFixedHeader(head, 0);
    if (header === 'malformed') return 0; // push() will parse it and fail
    if (header === null) return null;
    return header.length > this.maxPacketSize ? 0 : header.end;
  }

  private decode(buffer: Buffer, offset: number, start: number, end: number): void {
    const type = buffer[offset]! >> 4;
    if (type === 3) return this.publish(buffer, offset, start, end);
    const ack = ACKNOWLEDGEMENTS[type];
    // An MQTT 5 acknowledgement with a reason code or properties goes to the parser below.
    if (ack && (end - start === 2 || this.level !== 5)) {
      if (end - start !== 2) return this.fail(new Error(`${ack} must carry exactly a packet id`));
      this.owner.receive({ cmd: ack, messageId: buffer.readUInt16BE(start) } as InboundPacket);
      return;
    }
    if ((type === PINGREQ || type === DISCONNECT) && end === start) {
      this.owner.receive({ cmd: type === PINGREQ ? 'pingreq' : 'disconnect' } as InboundPacket);
      return;
    }
    if (type === CONNECT) this.announceLevel(buffer, start, end);
    const parser = mqttParser.parser(this.level === 5 ? { protocolVersion: 5 } : undefined);
    parser.on('packet', (packet: mqtt.Packet) => {
      if (this.failed) return;
      try {
        this.owner.receive(packet.cmd === 'connect' && packet.protocolVersion === 5 ? connectV5(packet, buffer, start, end) : (packet as InboundPacket));
      } catch (error) {
        this.fail(error as Error);
      }
    });
    parser.on('error', (error: Error) => this.fail(error));
    parser.parse(buffer.subarray(offset, end));
  }

  /** Reads the protocol level of a CONNECT from its bytes, so that even a malformed one is answered in its own version. */
  private announceLevel(buffer: Buffer, start: number, end: number): void {
    if (end - start < 2) return;
    const levelAt = start + 2 + buffer.readUInt16BE(start);
    if (levelAt >= end) return;
    const level = buffer[levelAt]! & 0x7f; // the top bit is mqtt-packet's bridge mode
    if (level === 3 || level === 4 || level === 5) {
      this.level = level;
      this.owner.levelAnnounced(level);
    }
  }

  private publish(buffer: Buffer, offset: number, start: number, end: number): void {
    const flags = buffer[offset]! & 0x0f;
    const qos = (flags >> 1) & 3;
    let position = start;
    if (end - position < 2) return this.fail(new Error('PUBLISH too short for its topic'));
    const topicLength = buffer.readUInt16BE(position);
    position += 2;
    if (position + topicLength > end) return this.fail(new Error('PUBLISH topic longer than the packet'));
    const topic = buffer.toString('utf8', position, position + topicLength);
    position += topicLength;
    let messageId: number | undefined;
    if (qos > 0) {
      if (end - position < 2) return this.fail(new Error('PUBLISH too short for its packet id'));
      messageId = buffer.readUInt16BE(position);
      position += 2;
      if (messageId === 0) return this.fail(new Error('PUBLISH with packet id 0')); // [MQTT-2.3.1-1]
    }
    let properties: DecodedProperties | undefined;
    // MQTT 5: the property list; one comparison is all a 3.1.1 PUBLISH pays for it.
    if (this.level === 5) {
      try {
        ({ properties, next: position } = decodeProperties(buffer, position, end, PUBLISH_PROPERTIES));
      } catch (error) {
        return this.fail(error as Error);
      }
    }
    this.owner.receive({
      cmd: 'publish',
      topic,
      payload: buffer.subarray(position, end),
      qos: qos as mqtt.QoS,
      retain: (flags & 1) === 1,
      dup: (flags & 8) === 8,
      messageId,
      length: end - start,
      properties,
    });
  }

  /** Stops reading after a malformed packet; reported once. */
  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.owner.protocolError(error);
  }
}

/** The flags each packet type must carry, by type; PUBLISH (3) has its own. [MQTT-2.2.2-1] */
const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/**
 * A 5.0 CONNECT with its properties, and its will's, read again here: mqtt-packet keeps User
 * Properties by name, which loses their order [MQTT-3.1.3-10], and accepts properties a CONNECT
 * may not carry. The packet is known to be well-formed up to its will by then.
 */
function connectV5(packet: mqtt.IConnectPacket, buffer: Buffer, start: number, end: number): ConnectPacket {
  let position = start + 2 + buffer.readUInt16BE(start); // protocol name
  const flags = buffer[position + 1]!;
  position += 4; // level, flags, keepalive
  const own = decodeProperties(buffer, position, end, CONNECT_PROPERTIES);
  position = own.next;
  position += 2 + buffer.readUInt16BE(position); // client id
  const { will: parsedWill, properties: _ignored, ...rest } = packet;
  const connect: ConnectPacket = { ...rest, properties: own.properties };
  if (parsedWill && flags & 0x04) {
    const { properties: _parsed, ...will } = parsedWill;
    connect.will = { ...will, properties: decodeProperties(buffer, position, end, WILL_PROPERTIES).properties };
  }
  return connect;
}

/** Why a packet's first byte is invalid, or null. [MQTT-2.2.2-2] [MQTT-3.3.1-4] */
function checkFirstByte(byte: number, level: ProtocolLevel): string | null {
  const type = byte >> 4;
  const flags = byte & 0x0f;
  if (type === 3) return (flags & 0x06) === 0x06 ? 'PUBLISH with both QoS bits set' : null;
  // Type 15 is AUTH in MQTT 5 (its flags 0 [MQTT-3.15.1-1]), reserved before.
  if (type === 0 || (type === 15 && level !== 5)) return `reserved packet type ${type}`;
  return flags === REQUIRED_FLAGS[type] ? null : `invalid header flags ${flags} for packet type ${type}`;
}

/** The remaining length and where the variable header starts and the packet ends; null if incomplete. */
function readFixedHeader(buffer: Buffer, offset: number): { length: number; start: number; end: number } | null | 'malformed' {
  let length = 0;
  let multiplier = 1;
  let position = offset + 1;
  for (;;) {
    if (position >= buffer.length) return null;
    const byte = buffer[position++]!;
    length += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) break;
    multiplier *= 128;
    if (multiplier > 128 ** 3) return 'malformed'; // at most four bytes [MQTT-2.2.3]
  }
  return { length, start: position, end: position + length };
}
