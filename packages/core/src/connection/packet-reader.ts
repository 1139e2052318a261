import type { CloseCause } from '../sys/broker-stats.js';
import type { ProtocolLevel } from '../types.js';
import type { ByteBudget } from './byte-budget.js';
import { decodeConnect } from './decode/connect.js';
import { decodeAcknowledgement, decodeAuth, decodeDisconnect } from './decode/reason-packets.js';
import { decodeSubscribe, decodeUnsubscribe } from './decode/subscriptions.js';
import { utf8BytesError } from './decode/utf8.js';
import type { InboundPacket } from './inbound-packets.js';
import { PartialPacket } from './partial-packet.js';
import { decodeProperties, PUBLISH_PROPERTIES, type DecodedProperties } from './properties.js';
import { ProtocolViolation } from './reason-codes.js';

/** Packets that carry a packet id (and, in MQTT 5, a reason code and properties), by type. */
const ACKNOWLEDGEMENTS: Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' };
const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
const PINGREQ = 12;
const DISCONNECT = 14;
const AUTH = 15;
const NAMES = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

/** The limits a reader enforces, by their `BrokerStats.closedBy` names. */
export type InputLimit = Extract<CloseCause, 'packetTooLarge' | 'incompletePacketBudget'>;

/** Where a reader's packets and errors go: the connection. */
export interface PacketOwner {
  receive(packet: InboundPacket): void;
  /** A malformed packet: the connection must be closed. */
  protocolError(error: Error): void;
  /** A limit of the broker refused what the connection sends: it must be closed. */
  limitExceeded(limit: InputLimit, reason: string): void;
  /** The protocol level a CONNECT announced, known before the rest of it is decoded. */
  levelAnnounced(level: ProtocolLevel): void;
}

/**
 * Splits a byte stream into MQTT packets and decodes them, refusing whatever the specification
 * says must close the connection (a ProtocolViolation). The fixed header is read here, so a packet
 * larger than `maxPacketSize` is refused from its first bytes, before it is buffered. The packets
 * of the message flow (PUBLISH, 3.1.1 acknowledgements) are decoded inline, the others in `decode/`.
 *
 * A packet split across network chunks is copied into the blocks of a PartialPacket, charged to the
 * broker-wide `budget`; `incompleteSince` tells the keepalive monitor how long it has been waiting.
 */
export class PacketReader {
  /** The first bytes of a packet whose fixed header is incomplete (at most four). */
  private head: Buffer | null = null;
  private partial: PartialPacket | null = null;
  /** Date.now() when the packet still arriving began; 0 between packets. */
  incompleteSince = 0;
  private failed = false;
  private expectConnect = true;
  /** The connection's protocol level, from its CONNECT: 5 changes how packets are read. */
  private level: ProtocolLevel = 4;

  constructor(
    private readonly maxPacketSize: number,
    private readonly owner: PacketOwner,
    private readonly budget: ByteBudget,
  ) {}

  push(chunk: Buffer): void {
    if (this.failed) return;
    const partial = this.partial;
    if (partial) {
      const taken = partial.append(chunk);
      if (taken < 0) return this.refuseForBudget(partial.total);
      if (!partial.complete) return;
      this.partial = null;
      partial.release();
      this.decode(partial.bytes, 0, partial.bodyStart, partial.total);
      this.readPackets(chunk, taken, true);
    } else if (this.head) {
      const head = this.head;
      this.head = null;
      this.readPackets(Buffer.concat([head, chunk]), 0, false);
    } else {
      this.readPackets(chunk, 0, false);
    }
  }

  /** Decodes the complete packets of `buffer` from `offset`, and keeps the incomplete one that ends it. */
  private readPackets(buffer: Buffer, offset: number, decodedOne: boolean): void {
    while (offset < buffer.length && !this.failed) {
      const first = buffer[offset]!;
      // The first byte is checked at once, so a peer speaking another protocol is refused
      // without waiting for the length it seems to announce.
      const firstByteError = checkFirstByte(first, this.level);
      if (firstByteError) return this.fail(new ProtocolViolation(firstByteError));
      // [MQTT-3.1.0-1] known from the first byte, before a large packet is waited for.
      if (this.expectConnect && first >> 4 !== CONNECT) return this.fail(new ProtocolViolation('the first packet must be CONNECT [MQTT-3.1.0-1]'));
      const header = readFixedHeader(buffer, offset);
      if (header === 'malformed') return this.fail(new ProtocolViolation('remaining length longer than four bytes [MQTT-2.2.3]'));
      if (header !== null && header.end - offset > this.maxPacketSize) {
        this.stop();
        return this.owner.limitExceeded('packetTooLarge', `a packet of ${header.end - offset} bytes is larger than maxPacketSize (${this.maxPacketSize})`);
      }
      if (header === null || header.end > buffer.length) return this.keepIncomplete(buffer, offset, header, decodedOne);
      this.decode(buffer, offset, header.start, header.end);
      decodedOne = true;
      offset = header.end;
    }
    this.incompleteSince = 0;
  }

  /** Keeps the start of a packet that has not fully arrived; a packet begun in this chunk starts its clock. */
  private keepIncomplete(buffer: Buffer, offset: number, header: FixedHeader | null, decodedOne: boolean): void {
    if (decodedOne || this.incompleteSince === 0) this.incompleteSince = Date.now();
    const rest = buffer.subarray(offset);
    if (header === null) {
      // Copied so that a few bytes do not keep a large chunk alive.
      this.head = Buffer.from(rest);
      return;
    }
    const total = header.end - offset;
    this.partial = PartialPacket.begin(this.budget, rest, header.start - offset, total);
    if (!this.partial) this.refuseForBudget(total);
  }

  private refuseForBudget(total: number): void {
    this.stop();
    this.owner.limitExceeded(
      'incompletePacketBudget',
      `a packet of ${total} bytes would take the bytes held for incomplete packets beyond maxIncompletePacketBytes (${this.budget.limit})`,
    );
  }

  private decode(buffer: Buffer, offset: number, start: number, end: number): void {
    this.expectConnect = false;
    const first = buffer[offset]!;
    const type = first >> 4;
    if (type === PUBLISH) return this.publish(buffer, first, start, end);
    const ack = ACKNOWLEDGEMENTS[type];
    // A 3.1.1 acknowledgement, or a 5.0 one without reason code: a packet id and nothing else.
    if (ack && (end - start === 2 || this.level !== 5)) {
      if (end - start !== 2) return this.fail(new ProtocolViolation(`${NAMES[type]} must carry exactly a packet identifier`));
      const messageId = buffer.readUInt16BE(start);
      if (messageId === 0) return this.fail(new ProtocolViolation(`${NAMES[type]} with packet identifier 0 [MQTT-2.3.1-1]`));
      this.owner.receive({ cmd: ack, messageId });
      return;
    }
    if (type === CONNECT) this.announceLevel(buffer, start, end);
    let packet: InboundPacket;
    try {
      packet = ack ? decodeAcknowledgement(ack, buffer, start, end) : this.decodeControlPacket(type, first, buffer, start, end);
    } catch (error) {
      if (error instanceof ProtocolViolation) return this.fail(error);
      throw error;
    }
    this.owner.receive(packet);
  }

  /** The packets other than PUBLISH and the acknowledgements; throws a ProtocolViolation. */
  private decodeControlPacket(type: number, first: number, buffer: Buffer, start: number, end: number): InboundPacket {
    switch (type) {
      case CONNECT:
        return decodeConnect(buffer, first, start, end);
      case SUBSCRIBE:
        return decodeSubscribe(buffer, start, end, this.level);
      case UNSUBSCRIBE:
        return decodeUnsubscribe(buffer, start, end, this.level);
      case PINGREQ:
        // Section 3.12.1: no variable header, no payload.
        if (end !== start) throw new ProtocolViolation(`PINGREQ with a remaining length of ${end - start}, not 0`);
        return { cmd: 'pingreq' };
      case DISCONNECT:
        if (this.level === 5) return decodeDisconnect(buffer, start, end);
        if (end !== start) throw new ProtocolViolation(`DISCONNECT with a remaining length of ${end - start}, not 0`); // section 3.14.1
        return { cmd: 'disconnect' };
      case AUTH: // only MQTT 5 gets here (checkFirstByte)
        return decodeAuth(buffer, start, end);
      default:
        throw new ProtocolViolation(`${NAMES[type]} is sent only by servers`);
    }
  }

  /** Reads the protocol level of a CONNECT from its bytes, so that even a malformed one is answered in its own version. */
  private announceLevel(buffer: Buffer, start: number, end: number): void {
    if (end - start < 2) return;
    const levelAt = start + 2 + buffer.readUInt16BE(start);
    if (levelAt >= end) return;
    const level = buffer[levelAt]! & 0x7f; // the top bit marks a bridge
    if (level === 3 || level === 4 || level === 5) {
      this.level = level;
      this.owner.levelAnnounced(level);
    }
  }

  /**
   * The hot path. Per PUBLISH: the fixed fields, and one pass over the topic's bytes that checks
   * them (utf8BytesError: for ASCII, two comparisons per byte) before decoding them. A 5.0 topic
   * may be empty (a Topic Alias stands for it) and its wildcards are refused by the handler, with
   * their own reason code; a 3.1.1 topic is checked completely here.
   */
  private publish(buffer: Buffer, first: number, start: number, end: number): void {
    const qos = (first >> 1) & 3;
    if (end - start < 2) return this.fail(new ProtocolViolation('PUBLISH: cut short in its topic name'));
    const topicStart = start + 2;
    const topicEnd = topicStart + buffer.readUInt16BE(start);
    if (topicEnd > end) return this.fail(new ProtocolViolation('PUBLISH: cut short in its topic name'));
    const v5 = this.level === 5;
    // [MQTT-4.7.3-1] not empty; [MQTT-3.3.2-2] no wildcards; the string rules of utf8.ts.
    const topicError = topicEnd === topicStart && !v5 ? 'is empty [MQTT-4.7.3-1]' : utf8BytesError(buffer, topicStart, topicEnd, !v5);
    if (topicError) return this.fail(new ProtocolViolation(`PUBLISH: topic name ${topicError}`));
    const topic = buffer.toString('utf8', topicStart, topicEnd);
    let position = topicEnd;
    let messageId: number | undefined;
    if (qos > 0) {
      if (end - position < 2) return this.fail(new ProtocolViolation('PUBLISH: cut short in its packet identifier'));
      messageId = buffer.readUInt16BE(position);
      position += 2;
      if (messageId === 0) return this.fail(new ProtocolViolation('PUBLISH with packet identifier 0 [MQTT-2.3.1-1]'));
    }
    let properties: DecodedProperties | undefined;
    // MQTT 5: the property list; one comparison is all a 3.1.1 PUBLISH pays for it.
    if (v5) {
      try {
        ({ properties, next: position } = decodeProperties(buffer, position, end, PUBLISH_PROPERTIES));
      } catch (error) {
        return this.fail(error as ProtocolViolation);
      }
    }
    this.owner.receive({
      cmd: 'publish',
      topic,
      payload: buffer.subarray(position, end),
      qos: qos as 0 | 1 | 2,
      retain: (first & 1) === 1,
      dup: (first & 8) === 8,
      messageId,
      length: end - start,
      properties,
    });
  }

  /** Stops reading and gives back what an incomplete packet held (the connection is closing). */
  stop(): void {
    this.failed = true;
    this.head = null;
    this.partial?.release();
    this.partial = null;
    this.incompleteSince = 0;
  }

  /** Stops reading after a malformed packet; reported once. */
  private fail(error: ProtocolViolation): void {
    if (this.failed) return;
    this.stop();
    this.owner.protocolError(error);
  }
}

/**
 * The flags each packet type must carry, by type [MQTT-2.2.2-1]; PUBLISH (3) has its own, and
 * CONNECT's (1) are checked once its protocol level is known (MQTT 3.1 reserves none).
 */
const REQUIRED_FLAGS = [-1, -1, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** Why a packet's first byte is invalid, or null. [MQTT-2.2.2-2] */
function checkFirstByte(byte: number, level: ProtocolLevel): string | null {
  const type = byte >> 4;
  const flags = byte & 0x0f;
  if (type === PUBLISH) {
    if ((flags & 0x06) === 0x06) return 'PUBLISH with both QoS bits set [MQTT-3.3.1-4]';
    if ((flags & 0x0e) === 0x08) return 'PUBLISH of QoS 0 with DUP set [MQTT-3.3.1-2]';
    return null;
  }
  // Type 15 is AUTH in MQTT 5 (its flags 0 [MQTT-3.15.1-1]), reserved before.
  if (type === 0 || (type === AUTH && level !== 5)) return `reserved packet type ${type}`;
  if (type === CONNECT) return null;
  return flags === REQUIRED_FLAGS[type] ? null : `invalid fixed header flags ${flags} for ${NAMES[type]} [MQTT-2.2.2-2]`;
}

interface FixedHeader {
  /** The remaining length. */
  length: number;
  /** Where the variable header starts. */
  start: number;
  /** Where the packet ends. */
  end: number;
}

/** The fixed header at `offset`; null if incomplete. */
function readFixedHeader(buffer: Buffer, offset: number): FixedHeader | null | 'malformed' {
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
