// Receiver-side bookkeeping: which sequence numbers one subscriber has seen. Loss and
// duplicates come from this, never from counters alone.
import { PacketType, SEQ_OFFSET } from './frames.js';

export class SequenceCheck {
  private readonly seen: Uint8Array;
  received = 0;
  duplicates = 0;
  malformed = 0;

  constructor(readonly expected: number) {
    this.seen = new Uint8Array(expected);
  }

  /** Records a sequence number; false when it was out of range or already seen. */
  record(seq: number): boolean {
    if (seq < 0 || seq >= this.expected) {
      this.malformed++;
      return false;
    }
    if (this.seen[seq] === 1) {
      this.duplicates++;
      return false;
    }
    this.seen[seq] = 1;
    this.received++;
    return true;
  }
}

/** Payload offset of a PUBLISH frame whose first byte is `header` and body starts at `body`. */
export function payloadOffset(buf: Buffer, header: number, body: number): number {
  const topicLength = (buf[body]! << 8) | buf[body + 1]!;
  return body + 2 + topicLength + ((header & 0x06) !== 0 ? 2 : 0);
}

/** Packet id of a QoS 1/2 PUBLISH (right after the topic). */
export function publishPacketId(buf: Buffer, body: number): number {
  const at = body + 2 + ((buf[body]! << 8) | buf[body + 1]!);
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** Sequence number carried in a PUBLISH payload, or -1 if the payload is too short. */
export function sequenceOf(buf: Buffer, payload: number, end: number): number {
  if (end - payload < SEQ_OFFSET + 4) return -1;
  const at = payload + SEQ_OFFSET;
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

export function isPublish(header: number): boolean {
  return header >> 4 === PacketType.Publish;
}
