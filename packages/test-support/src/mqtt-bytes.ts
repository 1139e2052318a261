/**
 * MQTT packets built byte by byte, for what a client library refuses to send: every field is
 * written as given, whatever the flags say, so a test can put any bytes anywhere.
 */

export type Bytes = Buffer | number[] | string;

function bytes(value: Bytes): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value as string);
}

/** A remaining length, in the variable-length encoding of [MQTT-2.2.3]. */
function remainingLength(length: number): number[] {
  const out: number[] = [];
  do {
    out.push((length % 128) | (length >= 128 ? 0x80 : 0));
    length = Math.floor(length / 128);
  } while (length > 0);
  return out;
}

/** A packet: its first byte, the remaining length of the parts, the parts. */
export function packet(first: number, ...parts: Bytes[]): Buffer {
  const body = Buffer.concat(parts.map(bytes));
  return Buffer.concat([Buffer.from([first, ...remainingLength(body.length)]), body]);
}

/** A two-byte integer. */
export function u16(value: number): number[] {
  return [value >> 8, value & 0xff];
}

/** A length-prefixed field (a string or binary data) of any bytes. */
export function field(value: Bytes): Buffer {
  const data = bytes(value);
  return Buffer.concat([Buffer.from(u16(data.length)), data]);
}

export interface ConnectFields {
  name?: Bytes;
  level?: number;
  /** Connect flags, written as given (default: clean session only). */
  flags?: number;
  /** The fixed header's first byte (default 0x10). */
  first?: number;
  keepalive?: number;
  clientId?: Bytes;
  /** Payload fields after the client id, in order, whatever the flags say. */
  payload?: Bytes[];
}

/** A CONNECT, MQTT 3.1.1 with clean session by default. */
export function connect({ name = 'MQTT', level = 4, flags = 0x02, first = 0x10, keepalive = 0, clientId = 'c', payload = [] }: ConnectFields = {}): Buffer {
  return packet(first, field(name), [level, flags, ...u16(keepalive)], field(clientId), ...payload.map(field));
}

export interface PublishFields {
  qos?: number;
  dup?: boolean;
  retain?: boolean;
  /** Packet identifier, written when qos > 0. */
  id?: number;
  payload?: Bytes;
  /** The first byte, when it must be anything at all (its QoS bits still decide the packet id). */
  first?: number;
}

export function publish(topic: Bytes, { qos = 0, dup = false, retain = false, id = 1, payload = 'x', first }: PublishFields = {}): Buffer {
  const head = first ?? (0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0));
  return packet(head, field(topic), (head & 0x06) !== 0 ? u16(id) : [], bytes(payload));
}

/** A SUBSCRIBE with (filter, requested QoS byte) pairs. */
export function subscribe(id: number, ...filters: [Bytes, number][]): Buffer {
  return packet(0x82, u16(id), ...filters.flatMap(([filter, qos]) => [field(filter), [qos]]));
}

export function unsubscribe(id: number, ...filters: Bytes[]): Buffer {
  return packet(0xa2, u16(id), ...filters.map(field));
}

const ACK_FIRST = { puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 } as const;

/** PUBACK, PUBREC, PUBREL or PUBCOMP with a packet identifier. */
export function ack(kind: keyof typeof ACK_FIRST, id: number): Buffer {
  return packet(ACK_FIRST[kind], u16(id));
}
