import type { Message } from '../types.js';

/** Samples kept between two reads; beyond it new ones are not recorded (a reader that stopped reading). */
const MAX_SAMPLES = 1024;

/**
 * Publish-to-delivery latency, measured on one message at a time. Whoever wants figures (the admin
 * plugin, on a timer) arms it; the next PUBLISH received from a client is then timed until its
 * first delivery is written to a subscriber's socket. Unarmed, the hot path pays one boolean test
 * per PUBLISH received and one pointer comparison per delivery.
 */
export class LatencySampler {
  /** When true, the next PUBLISH received is timed. */
  armed = false;
  /** The message being timed, until its first delivery. */
  pending: Message | null = null;
  private startedAt = 0;
  private samples: number[] = [];

  /** @internal a PUBLISH received while armed. */
  start(message: Message): void {
    this.armed = false;
    this.pending = message;
    this.startedAt = performance.now();
  }

  /** @internal the pending message was written to a subscriber. */
  delivered(): void {
    this.pending = null;
    if (this.samples.length < MAX_SAMPLES) this.samples.push((performance.now() - this.startedAt) / 1000);
  }

  /** The latencies measured since the last call, in seconds. */
  drain(): number[] {
    const samples = this.samples;
    this.samples = [];
    return samples;
  }
}
