import type { Client } from './client.js';
import { unref } from '../timers.js';

/** Unsent bytes beyond which a client's socket counts as congested. */
export const CONGESTION_BYTES = 256 * 1024;

/**
 * When one connection is read, and how its congestion affects others:
 * - a client whose own socket is congested is not read until it drains, so one that never reads
 *   its replies (PINGRESP, PUBACK, ...) cannot make the broker write without end;
 * - a publisher whose message found a subscriber congested is not read until that subscriber
 *   drains (this bounds a fan-in burst), but for at most `publisherPauseTimeout`: a subscriber
 *   still congested then is *slow*, pauses nobody and loses its QoS 0 messages until it drains;
 * - `congestedSince` lets the keepalive monitor disconnect a client stuck beyond `drainTimeout`.
 *
 * Pauses of every cause are counted, so reading resumes once the last one is lifted.
 */
export class FlowControl {
  /** When the socket became congested, 0 while it is not. */
  congestedSince = 0;
  /** Congested beyond publisherPauseTimeout, until the socket drains. */
  slow = false;
  private readPauses = 0;
  /** Reading stopped for this client's own congestion. */
  private ownPause = false;
  /** Publishers paused for this client's sake, and the timer that bounds it; made on first use. */
  private throttled: Set<Client> | null = null;
  private throttleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly client: Client) {}

  /** Whether the socket holds more unsent bytes than it should take on. */
  get congested(): boolean {
    return this.client.stream.writableLength > CONGESTION_BYTES;
  }

  /** Whether the broker has stopped reading this connection, for whatever reason. */
  get readingPaused(): boolean {
    return this.readPauses > 0;
  }

  /** Stops reading this connection; each pause is matched by one resumeReading(). */
  pauseReading(): void {
    if (this.readPauses++ === 0) this.client.stream.pause();
  }

  resumeReading(): void {
    if (--this.readPauses > 0) return;
    const client = this.client;
    // What it sent while it was not read is read now: its keepalive counts from here.
    client.lastSeen = Date.now();
    if (!client.closing) client.stream.resume();
  }

  /** After a write that left the socket congested: the drainTimeout clock starts, reading stops. */
  onCongested(): void {
    if (this.congestedSince === 0) this.congestedSince = Date.now();
    if (this.ownPause) return;
    this.ownPause = true;
    this.pauseReading();
  }

  /** A publisher fed this congested client: it is not read until this client drains (bounded). */
  throttle(publisher: Client | null): void {
    if (!publisher || publisher === this.client || this.slow) return;
    this.throttled ??= new Set();
    if (this.throttled.has(publisher)) return;
    this.throttled.add(publisher);
    publisher.flow.pauseReading();
    if (!this.throttleTimer) {
      this.throttleTimer = setTimeout(onThrottleTimeout, this.client.server.settings.publisherPauseTimeout, this);
      unref(this.throttleTimer);
    }
  }

  /** @internal publisherPauseTimeout ran out before the socket drained. */
  throttleTimedOut(): void {
    this.throttleTimer = null;
    const client = this.client;
    if (this.congestedSince !== 0 && !client.closing) {
      this.slow = true;
      const { publisherPauseTimeout } = client.server.settings;
      client.server.rateLimitedLog.warn(
        'slowConsumer',
        { clientId: client.id, publisherPauseTimeout },
        'slow consumer: its socket did not drain in time; the publishers it paused are released and its QoS 0 messages dropped until it drains',
      );
    }
    this.releaseThrottled();
  }

  /** The socket took everything it held: what waits goes out, then paused readers resume. */
  onDrain(): void {
    this.congestedSince = 0;
    this.slow = false;
    this.client.outbound.pump();
    if (this.congested) return;
    if (this.ownPause) {
      this.ownPause = false;
      this.resumeReading();
    }
    this.releaseThrottled();
  }

  /** Resumes every publisher paused for this client's sake. */
  releaseThrottled(): void {
    if (this.throttleTimer) {
      clearTimeout(this.throttleTimer);
      this.throttleTimer = null;
    }
    const throttled = this.throttled;
    if (!throttled) return;
    this.throttled = null;
    for (const publisher of throttled) publisher.flow.resumeReading();
  }
}

function onThrottleTimeout(flow: FlowControl): void {
  flow.throttleTimedOut();
}
