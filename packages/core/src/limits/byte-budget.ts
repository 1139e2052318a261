import type { Message } from '../types.js';

/** Bytes counted per message besides its topic and payload: the queue entry and the message object. */
const ENTRY_OVERHEAD = 64;

/** The bytes a waiting message is counted for in every byte limit: topic, payload and bookkeeping. */
export function messageCost(message: Message): number {
  return message.payload.length + message.topic.length + ENTRY_OVERHEAD;
}

/**
 * A number of bytes shared by every holder in the process (the broker's `maxTotalQueuedBytes`):
 * each queue takes what it stores and gives it back when the message leaves.
 */
export class ByteBudget {
  used = 0;

  constructor(readonly max: number) {}

  /** Takes `bytes` if they fit; false, taking nothing, if they do not. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}
