import type { Client } from '../connection/client.js';
import { TokenBucket } from './token-bucket.js';

/** `maxPublishRate`: PUBLISH packets and payload bytes a client may send per second. */
export interface PublishRateOptions {
  messages?: number;
  bytes?: number;
}

/**
 * One client's publish rate limit (`maxPublishRate`), a token bucket per dimension holding one
 * second's worth. A PUBLISH over the rate is still handled (it was read: dropping it could lose a
 * message the client will see acknowledged); then the client's packets wait, and its socket is not
 * read, until the buckets are out of debt, so TCP pushes back on the client. [MQTT-4.3.2-2] holds.
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

  /**
   * Counts one PUBLISH of `size` payload bytes. Over the rate, returns a promise that resolves once
   * the client is back under it: the connection handles no further packet before (Client.handle).
   */
  charge(size: number): Promise<void> | null {
    const wait = Math.max(this.messages?.take(1) ?? 0, this.bytes?.take(size) ?? 0);
    if (wait === 0) return null;
    const client = this.client;
    const server = client.server;
    server.stats.publishRateLimited++;
    server.rateLimitedLog.warn('publishRate', { clientId: client.id, maxPublishRate: server.settings.maxPublishRate }, 'a client publishes faster than maxPublishRate: its socket is not read until it is back under the rate');
    client.flow.pauseReading();
    return new Promise((resolve) => {
      this.timer = setTimeout(() => {
        this.timer = null;
        client.flow.resumeReading();
        resolve();
      }, Math.ceil(wait));
    });
  }

  /** The connection closed: no timer left behind (its remaining packets are not handled). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
