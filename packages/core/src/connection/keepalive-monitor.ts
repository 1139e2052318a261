import type { Client } from './client.js';
import { unref } from '../timers.js';

/** The settings the monitor applies. */
export interface ConnectionTimeouts {
  connectTimeout: number;
  incompletePacketTimeout: number;
  drainTimeout: number;
}

/**
 * One timer for every connection instead of one per client: each tick closes connections that
 * sent nothing for 1.5 × their keepalive [MQTT-3.1.2-24], those that never sent CONNECT within
 * `connectTimeout` (Mosca kept those open forever, its issue #637), those whose packet is still
 * incomplete `incompletePacketTimeout` ms after its first byte (a packet trickled in, or stopped
 * short, holds memory only that long), and those whose socket has not drained for `drainTimeout`
 * (a client that stopped reading what it is sent).
 *
 * A connection the broker is not reading (backpressure) is not timed out on keepalive: what it
 * sent waits to be read, and its clock restarts when reading resumes.
 */
export class KeepaliveMonitor {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connections: ReadonlySet<Client>,
    private readonly timeouts: ConnectionTimeouts,
    tickMs = 1000,
  ) {
    this.timer = setInterval(() => this.tick(), tickMs);
    unref(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    const { connectTimeout, incompletePacketTimeout, drainTimeout } = this.timeouts;
    for (const client of this.connections) {
      if (client.closing) continue;
      const { congestedSince } = client.flow;
      if (congestedSince !== 0 && now - congestedSince > drainTimeout) {
        client.logger.warn({ clientId: client.id, drainTimeout, unsent: client.stream.writableLength }, 'its socket did not drain within drainTimeout: disconnecting');
        void client.close('drain timeout');
      } else if (client.id === '') {
        if (now - client.connectedAt > connectTimeout) void client.close('connect timeout');
      } else if (client.incompleteSince > 0 && now - client.incompleteSince > incompletePacketTimeout) {
        client.limitExceeded('incompletePacketTimeout', `a packet still incomplete after incompletePacketTimeout (${incompletePacketTimeout} ms)`);
      } else if (client.keepalive > 0 && !client.flow.readingPaused && now - client.lastSeen > client.keepalive * 1500) {
        client.logger.info({ clientId: client.id }, 'keepalive timeout');
        void client.close('keepalive timeout');
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
