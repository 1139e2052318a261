/** Why the broker closed a connection for what it sent; each has its own counter. */
export type CloseCause =
  /** A malformed packet or a protocol violation. */
  | 'protocolError'
  /** A packet (or WebSocket frame) larger than `maxPacketSize`. */
  | 'packetTooLarge'
  /** A packet still incomplete `incompletePacketTimeout` ms after its first byte. */
  | 'incompletePacketTimeout'
  /** A packet the budget of bytes held for incomplete packets (`maxIncompletePacketBytes`) could not take. */
  | 'incompletePacketBudget';

export const CLOSE_CAUSES: readonly CloseCause[] = ['protocolError', 'packetTooLarge', 'incompletePacketTimeout', 'incompletePacketBudget'];

/** Counters the `$SYS` publisher reads; kept as plain fields so hot paths only increment. */
export class BrokerStats {
  connected = 0;
  maximumConnected = 0;
  publishReceived = 0;
  publishSent = 0;
  /** Messages dropped because a client's queue was full. */
  dropped = 0;
  /** Connections closed for what they sent, by cause (`$SYS/<id>/clients/closed/<cause>`). */
  readonly closedBy: Record<CloseCause, number> = { protocolError: 0, packetTooLarge: 0, incompletePacketTimeout: 0, incompletePacketBudget: 0 };
  readonly startedAt = new Date();

  clientConnected(): void {
    this.connected++;
    if (this.connected > this.maximumConnected) this.maximumConnected = this.connected;
  }

  clientDisconnected(): void {
    this.connected--;
  }

  closedFor(cause: CloseCause): void {
    this.closedBy[cause]++;
  }
}
