// Acknowledgements are written once per event-loop turn (setImmediate runs after all the reads
// epoll reported), not once per read: a broker that sends one small packet per write would
// otherwise cost the generator a write syscall per packet.
import type { Socket } from 'node:net';
import { writeAck, type PacketType } from './frames.js';

/** Collects 4-byte acks during one loop turn and writes them (and anything else queued) in one go. */
export class AckWriter {
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private length = 0;
  private scheduled = false;

  constructor(private readonly socket: Socket, private readonly after: () => Buffer | undefined = () => undefined) {}

  ack(type: PacketType, id: number): void {
    if (this.length + 4 > this.scratch.length) {
      const bigger = Buffer.allocUnsafe(this.scratch.length * 2);
      this.scratch.copy(bigger, 0, 0, this.length);
      this.scratch = bigger;
    }
    writeAck(this.scratch, this.length, type, id);
    this.length += 4;
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.socket.writableEnded || this.socket.destroyed) return; // the scenario closed it meanwhile
    const more = this.after();
    if (this.length === 0 && !more) return;
    this.socket.cork();
    if (this.length > 0) this.socket.write(Buffer.from(this.scratch.subarray(0, this.length)));
    if (more) this.socket.write(more);
    this.socket.uncork();
    this.length = 0;
  }
}
