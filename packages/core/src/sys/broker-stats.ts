/** Why a message was dropped; each reason has its own counter (and `$SYS/<id>/messages/dropped/<reason>`). */
export type DropReason =
  /** A client's in-memory queue was full (`maxQueuedMessages` or `maxQueuedBytes`): its oldest waiting message. */
  | 'queueFull'
  /** QoS 0 for a subscriber whose socket stayed congested beyond `publisherPauseTimeout`. */
  | 'slowConsumer'
  /** A Store's offline queue was full (its `maxQueuedMessages` or `maxQueuedBytes`): its oldest message. */
  | 'offlineQueueFull'
  /** The broker-wide budget of queued bytes (`maxTotalQueuedBytes`) was spent. */
  | 'memoryBudget'
  /** A client published to `$SYS` or `$CONTROL`: acknowledged and dropped, as Mosquitto does. */
  | 'reservedTopic';

export const DROP_REASONS: readonly DropReason[] = ['queueFull', 'slowConsumer', 'offlineQueueFull', 'memoryBudget', 'reservedTopic'];

/** Counters the `$SYS` publisher reads; kept as plain fields so hot paths only increment. */
export class BrokerStats {
  connected = 0;
  maximumConnected = 0;
  publishReceived = 0;
  publishSent = 0;
  /** Messages dropped, all reasons together (`$SYS/<id>/messages/dropped`). */
  dropped = 0;
  /** Messages dropped, by reason. */
  readonly droppedBy: Record<DropReason, number> = { queueFull: 0, slowConsumer: 0, offlineQueueFull: 0, memoryBudget: 0, reservedTopic: 0 };
  readonly startedAt = new Date();

  clientConnected(): void {
    this.connected++;
    if (this.connected > this.maximumConnected) this.maximumConnected = this.connected;
  }

  clientDisconnected(): void {
    this.connected--;
  }

  drop(reason: DropReason, count = 1): void {
    this.dropped += count;
    this.droppedBy[reason] += count;
  }
}
