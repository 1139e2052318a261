// Splits a TCP byte stream into MQTT frames by their fixed header alone: the first byte and the
// remaining length. This is the generator's hot path, so it does no allocation for frames that lie
// inside one read; only a frame cut by a read boundary is copied (it is at most one per read).

/** Called once per complete frame buf[start, end): `header` is its first byte, its body is buf[body, end). */
export type FrameHandler = (buf: Buffer, header: number, body: number, end: number, start: number) => void;

export class FrameReader {
  /** Bytes of an incomplete frame carried over from the previous read (a private copy). */
  private rest: Buffer | null = null;

  constructor(public onFrame: FrameHandler) {}

  /** Feeds buf[0, length). `buf` may be reused by the caller after this returns. */
  feed(buf: Buffer, length: number): void {
    let pos = 0;
    if (this.rest !== null) {
      pos = this.completeRest(buf, length);
      if (pos < 0) return;
    }
    while (pos < length) {
      const end = frameEnd(buf, pos, length);
      if (end < 0 || end > length) break;
      this.onFrame(buf, buf[pos]!, lastBodyStart, end, pos);
      pos = end;
    }
    if (pos < length) this.rest = Buffer.from(buf.subarray(pos, length));
  }

  /** Finishes the carried-over frame with the head of `buf`; returns how much of buf it used, or -1. */
  private completeRest(buf: Buffer, length: number): number {
    const rest = this.rest!;
    // The fixed header is at most 5 bytes: look at rest plus a few bytes of the new read.
    const head = Buffer.concat([rest, buf.subarray(0, Math.min(length, 5))]);
    const end = frameEnd(head, 0, head.length);
    if (end < 0 || end - rest.length > length) {
      this.rest = Buffer.concat([rest, buf.subarray(0, length)]);
      return -1;
    }
    const used = end - rest.length;
    const frame = Buffer.concat([rest, buf.subarray(0, used)]);
    this.rest = null;
    frameEnd(frame, 0, frame.length); // sets lastBodyStart for this copy
    this.onFrame(frame, frame[0]!, lastBodyStart, end, 0);
    return used;
  }
}

/** Body offset of the last frame decoded by frameEnd (a module variable: no allocation per frame). */
let lastBodyStart = 0;

/**
 * End offset of the frame starting at `pos`, or -1 if its fixed header is not complete yet.
 * The result may exceed `limit` (frame body not complete).
 */
function frameEnd(buf: Buffer, pos: number, limit: number): number {
  let i = pos + 1;
  let len = 0;
  let mul = 1;
  for (;;) {
    if (i >= limit) return -1;
    const b = buf[i++]!;
    len += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      lastBodyStart = i;
      return i + len;
    }
    mul *= 128;
    if (mul > 128 * 128 * 128) throw new Error('malformed remaining length');
  }
}
