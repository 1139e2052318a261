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

const SEVERITY: ConnectionState[] = ['closed', 'down', 'connecting', 'ready'];

/**
 * Follows the connections of one adapter: records their state and logs an outage once when it
 * starts (the first connection lost) and once when it ends (all back), not once per connection,
 * per command or per reconnect attempt.
 */
export class ConnectionMonitor {
  private readonly states: ConnectionState[];
  private isClosed = false;
  lastError: Error | null = null;
  /** When every connection was last ready again (Date.now()); 0 until then. */
  readySince = 0;
  private downSince = 0;
  private warnedUnreachable = false;

  constructor(clients: readonly Client[], private readonly label: string, private readonly logger: Logger) {
    this.states = clients.map(() => 'connecting');
    clients.forEach((client, i) => {
      // Without an 'error' listener ioredis prints every failed reconnect attempt to the console.
      client.on('error', (error: Error) => {
        this.lastError = error;
        if (this.states[i] === 'connecting' && !this.warnedUnreachable) {
          this.warnedUnreachable = true;
          this.logger.warn(`${this.label}: cannot reach Redis (${error.message}); commands wait until it is reachable`);
        }
      });
      client.on('ready', () => {
        this.states[i] = 'ready';
        if (this.state !== 'ready') return;
        this.readySince = Date.now();
        if (this.downSince !== 0) {
          // At the level of the outage's start, so that whoever saw one sees the other.
          this.logger.warn(`${this.label}: Redis connection restored after ${Date.now() - this.downSince} ms`);
          this.downSince = 0;
        } else if (this.warnedUnreachable) {
          this.warnedUnreachable = false;
          this.logger.info(`${this.label}: Redis reachable`);
        }
      });
      client.on('close', () => {
        if (this.states[i] !== 'ready') return;
        this.states[i] = 'down';
        if (this.downSince !== 0 || this.isClosed) return;
        this.downSince = Date.now();
        this.logger.warn(`${this.label}: Redis connection lost; commands wait and are sent on reconnect`);
      });
    });
  }

  /** The worst state among the connections. */
  get state(): ConnectionState {
    if (this.isClosed) return 'closed';
    return SEVERITY.find((s) => this.states.includes(s)) ?? 'ready';
  }

  closed(): void {
    this.isClosed = true;
  }
}

/**
 * An adapter's health check: a PING, rejected at once while a connection is known to be lost or
 * closed (the offline queue would hold it until Redis is back), shared while one is pending.
 */
export class HealthPing {
  private pending: Promise<void> | null = null;

  constructor(
    private readonly client: Client,
    private readonly monitor: ConnectionMonitor,
  ) {}

  ping(): Promise<void> {
    const { state, lastError } = this.monitor;
    if (state === 'down' || state === 'closed') return Promise.reject(new Error(`Redis is unreachable (${state}${lastError ? `: ${lastError.message}` : ''})`));
    this.pending ??= this.client.ping().then(
      () => {
        this.pending = null;
      },
      (error: unknown) => {
        this.pending = null;
        throw error;
      },
    );
    return this.pending;
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
