/**
 * What waits to be sent to the parent, in messages and bytes (core's messageCost), against the
 * bridge's limits. Two parts, because mqtt.js reports completion for some messages only:
 * - tracked: QoS 1/2 until the parent acknowledged them, and QoS 0 published while disconnected
 *   (mqtt.js queues them) until they are written on reconnect; each is released on its own.
 * - buffered: QoS 0 written into a congested socket. mqtt.js calls back no QoS 0 write that it
 *   does not hold (a callback per packet would be a 'drain' listener per packet), so these are
 *   released all at once when the socket drains, or closes (then they are lost with it).
 * QoS 1/2 publishers wait for room in arrival order (reserve); QoS 0 is admitted only when it fits
 * now and nobody waits before it (tryTake), else its caller drops it.
 */
export class ParentBacklog {
  private trackedBytes = 0;
  private trackedMessages = 0;
  private bufferedBytes = 0;
  private bufferedMessages = 0;
  private readonly waiting: { cost: number; resolve: () => void }[] = [];

  constructor(
    readonly maxBytes: number,
    readonly maxMessages: number,
  ) {}

  get bytes(): number {
    return this.trackedBytes + this.bufferedBytes;
  }

  get messages(): number {
    return this.trackedMessages + this.bufferedMessages;
  }

  /** QoS 0: counts the message if it fits now; false when the caller must drop it. */
  tryTake(cost: number): boolean {
    if (this.waiting.length > 0 || !this.fits(cost)) return false;
    this.trackedBytes += cost;
    this.trackedMessages++;
    return true;
  }

  /** QoS 1/2: resolves once the message fits, after those that waited before it, and counts it. */
  reserve(cost: number): Promise<void> {
    if (this.tryTake(cost)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ cost, resolve }));
  }

  /** A tracked message mqtt.js is done with (acknowledged, written, or failed). */
  release(cost: number): void {
    this.trackedBytes -= cost;
    this.trackedMessages--;
    this.wake();
  }

  /** A tracked QoS 0 message that was written into a congested socket: it now waits for the drain. */
  moveToBuffered(cost: number): void {
    this.trackedBytes -= cost;
    this.trackedMessages--;
    this.bufferedBytes += cost;
    this.bufferedMessages++;
  }

  /** The socket drained (or closed): what was buffered in it is gone from memory. */
  drained(): void {
    if (this.bufferedMessages === 0) return;
    this.bufferedBytes = 0;
    this.bufferedMessages = 0;
    this.wake();
  }

  /** Lets every waiting publisher go (the bridge is closing: they fail then). */
  releaseWaiting(): void {
    for (const { resolve } of this.waiting.splice(0)) resolve();
  }

  /** A message alone always fits, however large: it is bounded by the broker's maxPacketSize. */
  private fits(cost: number): boolean {
    const messages = this.messages;
    return messages === 0 || (messages < this.maxMessages && this.bytes + cost <= this.maxBytes);
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.cost)) {
      const { cost, resolve } = this.waiting.shift()!;
      this.trackedBytes += cost;
      this.trackedMessages++;
      resolve();
    }
  }
}
