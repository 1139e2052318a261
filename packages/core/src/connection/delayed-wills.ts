import { unref } from '../timers.js';
/**
 * MQTT 5 wills waiting for their Will Delay Interval, by client id. A new connection for the
 * client, on this instance or another, takes its will back [MQTT-3.1.3-9]; the server closing
 * drops what still waits (no will when the broker closes, Mosca's rule).
 */
export class DelayedWills {
  private readonly waiting = new Map<string, { timer: NodeJS.Timeout; publish: () => void }>();

  /** Publishes the will after `delayMs`, unless taken back first; replaces a will already waiting. */
  schedule(clientId: string, delayMs: number, publish: () => void): void {
    this.cancel(clientId);
    const timer = setTimeout(() => {
      this.waiting.delete(clientId);
      publish();
    }, delayMs);
    unref(timer);
    this.waiting.set(clientId, { timer, publish });
  }

  /** Takes back the will waiting for this client: it is not published, and its publish function is returned. */
  cancel(clientId: string): (() => void) | undefined {
    const entry = this.waiting.get(clientId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.waiting.delete(clientId);
    return entry.publish;
  }

  get size(): number {
    return this.waiting.size;
  }

  clear(): void {
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }
}
