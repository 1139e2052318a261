import type { Client } from '../connection/client.js';
import type { RateLimitedLog } from '../logger.js';
import { listenerConnectionRate, type InterfaceOptions, type ResolvedOptions } from '../options.js';
import type { BrokerStats } from '../sys/broker-stats.js';
import { TokenBucket } from './token-bucket.js';

/**
 * Sockets held beyond `maxConnections` so that their CONNECT can be answered CONNACK 3 (server
 * unavailable) rather than with a closed socket; past these, new sockets are closed at once.
 */
const REFUSAL_ROOM = 1024;

/** Whether a listener takes a new socket, given how many the broker has open. */
export type SocketAdmission = (openSockets: number) => boolean;

/**
 * The broker's door: `maxConnections` for the whole broker (counted at CONNECT, so refusals get a
 * CONNACK), and `connectionRate` per listener (a token bucket checked as each socket arrives).
 */
export class ConnectionGate {
  /** Connections admitted at CONNECT and not yet closed. */
  private admitted = 0;

  constructor(
    private readonly settings: ResolvedOptions,
    private readonly stats: BrokerStats,
    private readonly log: RateLimitedLog,
  ) {}

  /** The admission test of one listener's new sockets. */
  forListener(iface: InterfaceOptions): SocketAdmission {
    const rate = listenerConnectionRate(iface, this.settings);
    const bucket = rate && new TokenBucket(rate.rate, rate.burst);
    const where = `${iface.type}:${iface.port}`;
    return (openSockets) => {
      if (openSockets >= this.settings.maxConnections + REFUSAL_ROOM) {
        this.stats.refuse('maxConnections');
        this.log.warn('maxConnections', { maxConnections: this.settings.maxConnections, listener: where }, 'connection closed at once: far beyond maxConnections');
        return false;
      }
      if (bucket && !bucket.tryTake()) {
        this.stats.refuse('connectionRate');
        this.log.warn(`connectionRate ${where}`, { listener: where, connectionRate: rate }, 'connection closed at once: the listener\'s connectionRate is exceeded');
        return false;
      }
      return true;
    };
  }

  /**
   * Whether a client that sent CONNECT may have a session: under `maxConnections`, or taking over
   * a connection of its own id (which it replaces). Each admitted client is released once.
   */
  admit(client: Client, takingOver: boolean): boolean {
    if (this.admitted >= this.settings.maxConnections && !takingOver) {
      // Counted with the CONNACK that refuses it.
      this.log.warn('maxConnections at CONNECT', { clientId: client.id, maxConnections: this.settings.maxConnections }, 'connection refused: maxConnections reached (CONNACK 3, server unavailable)');
      return false;
    }
    this.admitted++;
    client.admitted = true;
    return true;
  }

  release(client: Client): void {
    if (!client.admitted) return;
    client.admitted = false;
    this.admitted--;
  }
}
