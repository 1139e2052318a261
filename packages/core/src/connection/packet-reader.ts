import type mqtt from 'mqtt-packet';
import type { CloseCause } from '../sys/broker-stats.js';
import type { ByteBudget } from './byte-budget.js';
import { decodeConnect } from './decode/connect.js';
import { decodeSubscribe, decodeUnsubscribe } from './decode/subscriptions.js';
import { utf8BytesError } from './decode/utf8.js';
import { PartialPacket } from './partial-packet.js';
import { ProtocolError } from './protocol-error.js';

/** Packets that carry a packet id and nothing else, by type. */
const ACKNOWLEDGEMENTS: Record<number, 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' };
const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
const PINGREQ = 12;
const DISCONNECT = 14;
const NAMES = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'reserved'];

/** The limits a reader enforces, by their `BrokerStats.closedBy` names. */
export type InputLimit = Extract<CloseCause, 'packetTooLarge' | 'incompletePacketBudget'>;

/** Where a reader's packets and errors go: the connection. */
export interface PacketOwner {
  receive(packet: mqtt.Packet): void;
  /** A malformed packet: the connection must be closed. */
  protocolError(error: ProtocolError): void;
  /** A limit of the broker refused what the connection sends: it must be closed. */
  limitExceeded(limit: InputLimit, reason: string): void;
}

/**
 * Splits a byte stream into MQTT 3.1/3.1.1 packets and decodes them, refusing whatever the
 * specification says must close the connection. The fixed header is read here, so a packet larger
 * than `maxPacketSize` is refused from its first bytes, before it is buffered. The packets of the
 * message flow (PUBLISH, its acknowledgements) are decoded inline, the others in `decode/`.
 *
 * A packet split across network chunks is copied into one buffer (PartialPacket) charged to the
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
      const firstByteError = checkFirstByte(first);
      if (firstByteError) return this.fail(new ProtocolError(firstByteError));
      // [MQTT-3.1.0-1] known from the first byte, before a large packet is waited for.
      if (this.expectConnect && first >> 4 !== CONNECT) return this.fail(new ProtocolError('the first packet must be CONNECT [MQTT-3.1.0-1]'));
      const header = readFixedHeader(buffer, offset);
      if (header === 'malformed') return this.fail(new ProtocolError('remaining length longer than four bytes [MQTT-2.2.3]'));
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
    if (ack) {
      if (end - start !== 2) return this.fail(new ProtocolError(`${NAMES[type]} must carry exactly a packet identifier`));
      const messageId = buffer.readUInt16BE(start);
      if (messageId === 0) return this.fail(new ProtocolError(`${NAMES[type]} with packet identifier 0 [MQTT-2.3.1-1]`));
      this.owner.receive({ cmd: ack, messageId } as mqtt.Packet);
      return;
    }
    let packet: mqtt.Packet;
    try {
      packet = decodeControlPacket(buffer, first, start, end);
    } catch (error) {
      if (error instanceof ProtocolError) return this.fail(error);
      throw error;
    }
    this.owner.receive(packet);
  }

  /**
   * The hot path. Per PUBLISH: the fixed fields, and one pass over the topic's bytes that checks
   * them as a topic name (utf8BytesError: for ASCII, two comparisons per byte) before decoding it.
   */
  private publish(buffer: Buffer, first: number, start: number, end: number): void {
    const qos = (first >> 1) & 3;
    if (end - start < 2) return this.fail(new ProtocolError('PUBLISH: cut short in its topic name'));
    const topicStart = start + 2;
    const topicEnd = topicStart + buffer.readUInt16BE(start);
    if (topicEnd > end) return this.fail(new ProtocolError('PUBLISH: cut short in its topic name'));
    // [MQTT-4.7.3-1] not empty; [MQTT-3.3.2-2] no wildcards; the string rules of utf8.ts.
    const topicError = topicEnd === topicStart ? 'is empty [MQTT-4.7.3-1]' : utf8BytesError(buffer, topicStart, topicEnd, true);
    if (topicError) return this.fail(new ProtocolError(`PUBLISH: topic name ${topicError}`));
    const topic = buffer.toString('utf8', topicStart, topicEnd);
    let position = topicEnd;
    let messageId: number | undefined;
    if (qos > 0) {
      if (end - position < 2) return this.fail(new ProtocolError('PUBLISH: cut short in its packet identifier'));
      messageId = buffer.readUInt16BE(position);
      position += 2;
      if (messageId === 0) return this.fail(new ProtocolError('PUBLISH with packet identifier 0 [MQTT-2.3.1-1]'));
    }
    this.owner.receive({
      cmd: 'publish',
      topic,
      payload: buffer.subarray(position, end),
      qos: qos as mqtt.QoS,
      retain: (first & 1) === 1,
      dup: (first & 8) === 8,
      messageId,
      length: end - start,
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
  private fail(error: ProtocolError): void {
    if (this.failed) return;
    this.stop();
    this.owner.protocolError(error);
  }
}

/** The packets other than PUBLISH and its acknowledgements; throws a ProtocolError. */
function decodeControlPacket(buffer: Buffer, first: number, start: number, end: number): mqtt.Packet {
  const type = first >> 4;
  switch (type) {
    case CONNECT:
      return decodeConnect(buffer, first, start, end);
    case SUBSCRIBE:
      return decodeSubscribe(buffer, start, end);
    case UNSUBSCRIBE:
      return decodeUnsubscribe(buffer, start, end);
    case PINGREQ:
    case DISCONNECT:
      // Sections 3.12.1 and 3.14.1: no variable header, no payload.
      if (end !== start) throw new ProtocolError(`${NAMES[type]} with a remaining length of ${end - start}, not 0`);
      return { cmd: type === PINGREQ ? 'pingreq' : 'disconnect' };
    default:
      throw new ProtocolError(`${NAMES[type]} is sent only by servers`);
  }
}

/**
 * The flags each packet type must carry, by type [MQTT-2.2.2-1]; PUBLISH (3) has its own, and
 * CONNECT's (1) are checked once its protocol level is known (MQTT 3.1 reserves none).
 */
const REQUIRED_FLAGS = [-1, -1, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, -1];

/** Why a packet's first byte is invalid, or null. [MQTT-2.2.2-2] */
function checkFirstByte(byte: number): string | null {
  const type = byte >> 4;
  const flags = byte & 0x0f;
  if (type === PUBLISH) {
    if ((flags & 0x06) === 0x06) return 'PUBLISH with both QoS bits set [MQTT-3.3.1-4]';
    if ((flags & 0x0e) === 0x08) return 'PUBLISH of QoS 0 with DUP set [MQTT-3.3.1-2]';
    return null;
  }
  if (type === 0 || type === 15) return `reserved packet type ${type}`;
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
