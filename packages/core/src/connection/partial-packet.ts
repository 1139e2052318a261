import type { ByteBudget } from './byte-budget.js';

/** Capacity a partial packet starts with at most; a packet this small gets its whole size at once. */
const INITIAL_CAPACITY = 64 * 1024;

/**
 * One packet whose bytes are still arriving, copied into one buffer as they come: a trickle of
 * tiny network chunks costs the bytes received, not an object per chunk. The buffer grows by
 * doubling up to the size the fixed header announced, so a packet that stops short holds at most
 * twice what was sent (or INITIAL_CAPACITY). Its capacity is taken from the broker-wide budget
 * of incomplete packets (`maxIncompletePacketBytes`) and given back by release().
 */
export class PartialPacket {
  private filled: number;

  private constructor(
    private readonly budget: ByteBudget,
    private buffer: Buffer,
    /** Where the variable header starts: the length of the fixed header. */
    readonly bodyStart: number,
    /** The packet's whole size, fixed header included. */
    readonly total: number,
    first: Buffer,
  ) {
    first.copy(buffer, 0);
    this.filled = first.length;
  }

  /** Starts a packet of `total` bytes with its `first` bytes; null when the budget cannot hold them. */
  static begin(budget: ByteBudget, first: Buffer, bodyStart: number, total: number): PartialPacket | null {
    const capacity = Math.min(total, Math.max(INITIAL_CAPACITY, first.length * 2));
    if (!budget.take(capacity)) return null;
    // Not from the shared pool: the buffer is exactly what the budget counts.
    return new PartialPacket(budget, Buffer.allocUnsafeSlow(capacity), bodyStart, total, first);
  }

  /** Takes from `chunk` what the packet still needs: how many bytes it took, or -1 when the budget cannot hold them. */
  append(chunk: Buffer): number {
    const take = Math.min(chunk.length, this.total - this.filled);
    if (this.filled + take > this.buffer.length && !this.grow(this.filled + take)) return -1;
    chunk.copy(this.buffer, this.filled, 0, take);
    this.filled += take;
    return take;
  }

  get complete(): boolean {
    return this.filled === this.total;
  }

  /** The packet's bytes, all of them once complete. */
  get bytes(): Buffer {
    return this.buffer;
  }

  /** Gives the buffer's bytes back to the budget; the packet is not used after this. */
  release(): void {
    this.budget.release(this.buffer.length);
  }

  private grow(needed: number): boolean {
    const capacity = Math.min(this.total, Math.max(needed, this.buffer.length * 2));
    if (!this.budget.take(capacity - this.buffer.length)) return false;
    const bigger = Buffer.allocUnsafeSlow(capacity);
    this.buffer.copy(bigger, 0, 0, this.filled);
    this.buffer = bigger;
    return true;
  }
}
