import type { ByteBudget } from './byte-budget.js';

/** The bytes of a packet still arriving are kept in blocks of this size (a smaller packet in one block of its size). */
const BLOCK = 64 * 1024;

/**
 * One packet whose bytes are still arriving, copied as they come into blocks of 64 KB: a trickle
 * of tiny network chunks costs the bytes received, not an object per chunk, and a packet that
 * stops short holds at most 64 KB more than it received (never the size its header announced).
 * No block is copied while the packet grows; a packet of several blocks is joined once, complete.
 * Each block is taken from the broker-wide budget of incomplete packets (`maxIncompletePacketBytes`)
 * before it is allocated, and given back by release().
 */
export class PartialPacket {
  private readonly blocks: Buffer[] = [];
  /** Bytes received so far. */
  private filled = 0;
  /** Bytes of the blocks. */
  private capacity = 0;

  private constructor(
    private readonly budget: ByteBudget,
    /** Where the variable header starts: the length of the fixed header. */
    readonly bodyStart: number,
    /** The packet's whole size, fixed header included. */
    readonly total: number,
  ) {}

  /** Starts a packet of `total` bytes with its `first` bytes; null when the budget cannot hold them. */
  static begin(budget: ByteBudget, first: Buffer, bodyStart: number, total: number): PartialPacket | null {
    const packet = new PartialPacket(budget, bodyStart, total);
    if (packet.append(first) >= 0) return packet;
    packet.release();
    return null;
  }

  /** Takes from `chunk` what the packet still needs: how many bytes it took, or -1 when the budget cannot hold them. */
  append(chunk: Buffer): number {
    const take = Math.min(chunk.length, this.total - this.filled);
    let copied = 0;
    while (copied < take) {
      if (this.filled === this.capacity && !this.addBlock()) return -1;
      const block = this.blocks[this.blocks.length - 1]!;
      const written = chunk.copy(block, this.filled - (this.capacity - block.length), copied, take);
      copied += written;
      this.filled += written;
    }
    return take;
  }

  get complete(): boolean {
    return this.filled === this.total;
  }

  /** The packet's bytes, once complete. */
  get bytes(): Buffer {
    return this.blocks.length === 1 ? this.blocks[0]! : Buffer.concat(this.blocks, this.total);
  }

  /** Gives the blocks' bytes back to the budget; the packet is not used after this. */
  release(): void {
    this.budget.release(this.capacity);
    this.capacity = 0;
  }

  private addBlock(): boolean {
    const size = Math.min(BLOCK, this.total - this.capacity);
    if (!this.budget.take(size)) return false;
    // Not from the shared pool: the block is exactly what the budget counts.
    this.blocks.push(Buffer.allocUnsafeSlow(size));
    this.capacity += size;
    return true;
  }
}
