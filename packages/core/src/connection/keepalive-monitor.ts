import type { Client } from './client.js';
import { unref } from '../timers.js';

/**
 * One timer for every connection instead of one per client: each tick closes connections that
 * sent nothing for 1.5 × their keepalive [MQTT-3.1.2-24], those that never sent CONNECT within
 * `connectTimeout` (Mosca kept those open forever, its issue #637), and those whose packet is
 * still incomplete `incompletePacketTimeout` ms after its first byte: a packet trickled in, or
 * stopped short, holds memory only that long.
 */
export class KeepaliveMonitor {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connections: ReadonlySet<Client>,
    private readonly connectTimeout: number,
    private readonly incompletePacketTimeout: number,
    tickMs = 1000,
  ) {
    this.timer = setInterval(() => this.tick(), tickMs);
    unref(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    for (const client of this.connections) {
      if (client.closing) continue;
      if (client.id === '') {
        if (now - client.connectedAt > this.connectTimeout) void client.close('connect timeout');
      } else if (client.incompleteSince > 0 && now - client.incompleteSince > this.incompletePacketTimeout) {
        client.limitExceeded('incompletePacketTimeout', `a packet still incomplete after incompletePacketTimeout (${this.incompletePacketTimeout} ms)`);
      } else if (client.keepalive > 0 && now - client.lastSeen > client.keepalive * 1500) {
        client.logger.info({ clientId: client.id }, 'keepalive timeout');
        void client.close('keepalive timeout');
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
