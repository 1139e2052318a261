/** Counters the `$SYS` publisher reads; kept as plain fields so hot paths only increment. */
export class BrokerStats {
  connected = 0;
  maximumConnected = 0;
  publishReceived = 0;
  publishSent = 0;
  /** Messages dropped because a client's queue was full. */
  dropped = 0;
  readonly startedAt = new Date();

  clientConnected(): void {
    this.connected++;
    if (this.connected > this.maximumConnected) this.maximumConnected = this.connected;
  }

  clientDisconnected(): void {
    this.connected--;
  }
}
