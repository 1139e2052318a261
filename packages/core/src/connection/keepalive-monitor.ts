import type { Client } from './client.js';

/**
 * One timer for every connection instead of one per client: each tick closes connections that
 * sent nothing for 1.5 × their keepalive [MQTT-3.1.2-24], and those that never sent CONNECT
 * within `connectTimeout` (Mosca kept those open forever, its issue #637).
 */
export class KeepaliveMonitor {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly connections: ReadonlySet<Client>,
    private readonly connectTimeout: number,
    tickMs = 1000,
  ) {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  private tick(): void {
    const now = Date.now();
    for (const client of this.connections) {
      if (client.closing) continue;
      if (client.id === '') {
        if (now - client.connectedAt > this.connectTimeout) void client.close('connect timeout');
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
