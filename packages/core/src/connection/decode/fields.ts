import { decodeProperties, type DecodedProperties, type PropertyName } from '../properties.js';
import { ProtocolViolation } from '../reason-codes.js';
import { utf8BytesError } from './utf8.js';

/**
 * Reads the fields of one packet's variable header and payload, `buffer[start, end)`, in order.
 * Every read checks that the field lies within the packet (a remaining length that ends inside a
 * field is malformed) and throws a ProtocolViolation (Malformed Packet) naming the packet and field.
 */
export class Fields {
  private position: number;

  constructor(
    private readonly buffer: Buffer,
    start: number,
    private readonly end: number,
    private readonly packet: string,
  ) {
    this.position = start;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  fail(reason: string, reasonCode?: number): never {
    throw new ProtocolViolation(`${this.packet}: ${reason}`, reasonCode);
  }

  private need(bytes: number, what: string): void {
    if (this.end - this.position < bytes) this.fail(`cut short in its ${what}`);
  }

  byte(what: string): number {
    this.need(1, what);
    return this.buffer[this.position++]!;
  }

  uint16(what: string): number {
    this.need(2, what);
    const value = this.buffer.readUInt16BE(this.position);
    this.position += 2;
    return value;
  }

  /** A packet identifier, which is never 0. [MQTT-2.3.1-1] */
  packetId(): number {
    const id = this.uint16('packet identifier');
    if (id === 0) this.fail('packet identifier 0 [MQTT-2.3.1-1]');
    return id;
  }

  /** Length-prefixed bytes, copied: the packet's buffer may be a large network chunk. */
  binary(what: string): Buffer {
    const length = this.uint16(what);
    this.need(length, what);
    const bytes = Buffer.from(this.buffer.subarray(this.position, this.position + length));
    this.position += length;
    return bytes;
  }

  /** A UTF-8 string, held to the rules of utf8.ts. */
  string(what: string): string {
    const length = this.uint16(what);
    this.need(length, what);
    const start = this.position;
    const error = utf8BytesError(this.buffer, start, start + length);
    if (error) this.fail(`${what} ${error}`);
    this.position += length;
    return this.buffer.toString('utf8', start, start + length);
  }

  /** The raw bytes of a string, compared without decoding (the protocol name). */
  rawString(what: string): Buffer {
    const length = this.uint16(what);
    this.need(length, what);
    const bytes = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return bytes;
  }

  /** MQTT 5: a property list of the identifiers `allowed` (properties.ts). */
  properties(allowed: ReadonlySet<PropertyName>): DecodedProperties {
    const { properties, next } = decodeProperties(this.buffer, this.position, this.end, allowed);
    this.position = next;
    return properties;
  }

  /** MQTT 5: a reason code, one of `valid` (mqtt-packet's table for the packet). */
  reasonCode(valid: Record<number, string>): number {
    const code = this.byte('reason code');
    if (!(code in valid)) this.fail(`reason code 0x${code.toString(16)} is not one of this packet's`);
    return code;
  }

  /** Nothing may follow the last field. */
  done(reason: string): void {
    if (this.position !== this.end) this.fail(reason);
  }
}
