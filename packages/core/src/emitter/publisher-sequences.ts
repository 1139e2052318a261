/**
 * The last sequence number seen from each emitting instance, for Emitters whose backend may hold
 * a message twice: each instance numbers what it publishes and writes in that order, so a number
 * not above the last one seen from it is a copy (a write re-sent after a reconnect although the
 * backend had applied it: ioredis' autoResendUnfulfilledCommands, a retried MongoDB insert), and
 * a jump is what the backend dropped before this instance could read it.
 *
 * Ids are random per process start, so the map grows by one entry per emitter ever seen; it is
 * capped, forgetting the oldest, which only costs duplicate detection for that instance.
 */
export class PublisherSequences {
  private readonly lastByPublisher = new Map<string, number>();

  constructor(private readonly maxPublishers = 10_000) {}

  /** The last number seen from `publisher`, if any. */
  last(publisher: string): number | undefined {
    return this.lastByPublisher.get(publisher);
  }

  /** Records `seq` and says whether it was seen already. */
  isDuplicate(publisher: string, seq: number): boolean {
    const previous = this.lastByPublisher.get(publisher);
    if (previous !== undefined && seq <= previous) return true;
    if (previous === undefined && this.lastByPublisher.size >= this.maxPublishers) {
      this.lastByPublisher.delete(this.lastByPublisher.keys().next().value!);
    }
    this.lastByPublisher.set(publisher, seq);
    return false;
  }
}
