import type { Message } from '../types.js';

/**
 * A number of bytes shared by many holders (every connection of the broker, say): each takes
 * before it allocates and gives back when it lets go, so their total stays within `limit`.
 */
export class ByteBudget {
  private taken = 0;

  constructor(readonly limit: number) {}

  /** Bytes taken and not given back. */
  get used(): number {
    return this.taken;
  }

  /** Takes `bytes` if they fit; false, with nothing taken, when they would exceed the limit. */
  take(bytes: number): boolean {
    if (this.taken + bytes > this.limit) return false;
    this.taken += bytes;
    return true;
  }

  release(bytes: number): void {
    this.taken -= bytes;
  }
}

/** Bytes counted per message besides its topic and payload: the queue entry and the message object. */
const ENTRY_OVERHEAD = 64;

/** The bytes a waiting message is counted for in every byte limit of the queues: topic, payload and bookkeeping. */
export function messageCost(message: Message): number {
  return message.payload.length + message.topic.length + ENTRY_OVERHEAD;
}
