/**
 * The last sequence number seen from each emitting instance, to drop duplicates, for Emitters
 * whose backend delivers each publisher's messages in order. A number not above the last one is
 * a message the publisher sent again after a reconnect although the backend had taken it before
 * the connection dropped (Redis: an XADD ioredis re-sent; AMQP: a publish whose confirm was lost),
 * or one the backend delivered again after this instance had handled it.
 *
 * Ids are random per process start, so the map grows by one entry per emitter ever seen; it is
 * capped, forgetting the oldest, which only costs duplicate detection for that instance.
 */
export class PublisherSequences {
  private readonly last = new Map<string, number>();

  constructor(private readonly maxPublishers = 10_000) {}

  /** Records `seq` and says whether it was seen already. */
  isDuplicate(publisher: string, seq: number): boolean {
    const previous = this.last.get(publisher);
    if (previous !== undefined && seq <= previous) return true;
    if (previous === undefined && this.last.size >= this.maxPublishers) {
      this.last.delete(this.last.keys().next().value!);
    }
    this.last.set(publisher, seq);
    return false;
  }
}
