import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Connection, Logger } from './options.js';

export type Client = Redis | Cluster;

/** connecting: never connected yet; ready; down: lost, reconnecting; closed: by close(). */
export type ConnectionState = 'connecting' | 'ready' | 'down' | 'closed';

/** Reconnect back-off: 100 ms, 200 ms, ... capped at 2 s, forever (an outage must not be fatal). */
export function retryDelay(attempt: number): number {
  return Math.min(attempt * 100, 2_000);
}

/**
 * Settings that make an outage wait instead of fail: commands queue while Redis is away
 * (a QoS 1/2 write must not vanish) and are sent on reconnect. Users may override them
 * through redisOptions, knowingly.
 */
const RESILIENT: RedisOptions = {
  retryStrategy: retryDelay,
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  autoResendUnfulfilledCommands: true,
};

export function createClient(connection: Connection): Client {
  switch (connection.kind) {
    case 'single':
      return new Redis({ ...RESILIENT, ...connection.options });
    case 'url':
      return new Redis(connection.url, { ...RESILIENT, ...connection.options });
    case 'cluster': {
      const { retryStrategy: _ignored, enableOfflineQueue, ...redisOptions } = { ...RESILIENT, ...connection.options };
      return new Cluster(connection.nodes, {
        clusterRetryStrategy: retryDelay,
        enableOfflineQueue: enableOfflineQueue ?? true,
        redisOptions,
      });
    }
  }
}

/**
 * Follows a client's connection: records its state and logs an outage once when it starts and
 * once when it ends, not once per command or per reconnect attempt.
 */
export class ConnectionMonitor {
  state: ConnectionState = 'connecting';
  lastError: Error | null = null;
  private downSince = 0;
  private warnedUnreachable = false;

  constructor(client: Client, private readonly label: string, private readonly logger: Logger) {
    // Without an 'error' listener ioredis prints every failed reconnect attempt to the console.
    client.on('error', (error: Error) => {
      this.lastError = error;
      if (this.state === 'connecting' && !this.warnedUnreachable) {
        this.warnedUnreachable = true;
        this.logger.warn(`${this.label}: cannot reach Redis (${error.message}); commands wait until it is reachable`);
      }
    });
    client.on('ready', () => {
      if (this.state === 'down') {
        this.logger.info(`${this.label}: Redis connection restored after ${Date.now() - this.downSince} ms`);
      } else if (this.warnedUnreachable) {
        this.logger.info(`${this.label}: Redis reachable`);
      }
      this.state = 'ready';
    });
    client.on('close', () => {
      if (this.state !== 'ready') return;
      this.state = 'down';
      this.downSince = Date.now();
      this.logger.warn(`${this.label}: Redis connection lost; commands wait and are sent on reconnect`);
    });
  }

  closed(): void {
    this.state = 'closed';
  }
}

/**
 * Quits gracefully when connected, so queued writes are flushed first; when Redis is away there
 * is nothing to flush to, so the client is disconnected (queued commands are rejected).
 */
export async function closeClient(client: Client): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: the connection dropped while quitting.
    }
  }
  client.disconnect();
}
