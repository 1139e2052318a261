import type { Publisher } from 'zeromq';

interface Entry {
  frames: Buffer[];
  done: () => void;
}

/**
 * Sends on one PUB socket in call order. zeromq.js allows one send in progress per socket (a
 * second one fails with EBUSY), so sends wait here their turn; beyond `limit` waiting messages a
 * new one is dropped (at most once, as ZeroMQ itself does beyond its high-water mark) and counted.
 */
export class SendQueue {
  private readonly waiting: Entry[] = [];
  private sending = false;
  dropped = 0;

  constructor(
    private readonly socket: Publisher,
    private readonly limit: number,
    private readonly onDrop: (dropped: number) => void,
  ) {}

  /** Resolves once ZeroMQ has the frames (or they were dropped). */
  send(frames: Buffer[]): Promise<void> {
    if (this.waiting.length >= this.limit) {
      this.onDrop(++this.dropped);
      return Promise.resolve();
    }
    return new Promise((done) => {
      this.waiting.push({ frames, done });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.waiting.length > 0) {
        const entry = this.waiting.shift()!;
        try {
          await this.socket.send(entry.frames);
        } catch {
          // Closed: nothing more goes out, and nobody is left waiting.
        }
        entry.done();
      }
    } finally {
      this.sending = false;
    }
  }
}
