import type { Client } from '../connection/client.js';
import { TokenBucket } from './token-bucket.js';

/** `maxPublishRate`: PUBLISH packets and payload bytes a client may send per second. */
export interface PublishRateOptions {
  messages?: number;
  bytes?: number;
}

/**
 * One client's publish rate limit (`maxPublishRate`), a token bucket per dimension holding one
 * second's worth. A PUBLISH over the rate is still handled (it was read: dropping it could lose
 * a message the client will see acknowledged); instead the client's socket stops being read until
 * the buckets are out of debt, so TCP pushes back on the client. [MQTT-4.3.2-2] holds as ever.
 */
export class PublishRateLimiter {
  private readonly messages: TokenBucket | null;
  private readonly bytes: TokenBucket | null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly client: Client,
    options: PublishRateOptions,
  ) {
    this.messages = options.messages ? new TokenBucket(options.messages, options.messages) : null;
    this.bytes = options.bytes ? new TokenBucket(options.bytes, options.bytes) : null;
  }

  /** Counts one PUBLISH of `size` payload bytes; pauses reading when the client is over its rate. */
  charge(size: number): void {
    const wait = Math.max(this.messages?.take(1) ?? 0, this.bytes?.take(size) ?? 0);
    if (wait === 0 || this.timer) return;
    const client = this.client;
    const server = client.server;
    server.stats.publishRateLimited++;
    server.rateLimitedLog.warn('publishRate', { clientId: client.id, maxPublishRate: server.settings.maxPublishRate }, 'a client publishes faster than maxPublishRate: its socket is not read until it is back under the rate');
    client.pauseReading();
    this.wait(wait);
  }

  private wait(ms: number): void {
    this.timer = setTimeout(() => {
      // Packets already read when reading stopped may have added debt meanwhile.
      const more = Math.max(this.messages?.debtMs() ?? 0, this.bytes?.debtMs() ?? 0);
      if (more > 0 && !this.client.closing) return this.wait(more);
      this.timer = null;
      this.client.resumeReading();
    }, Math.ceil(ms));
    this.timer.unref();
  }

  /** The connection closed: no timer left behind. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
