/**
 * Key names. The Lua scripts (scripts.ts) build the same names from the prefix, so a change
 * here must be made there too; both are listed in docs/backends/redis.md.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** Hash topic → encoded retained message. */
  get retained(): string {
    return `${this.prefix}retained`;
  }
  /** Set of the first levels of retained topics. */
  get retainedLevels(): string {
    return `${this.prefix}retained:levels`;
  }
  /** Set of the retained topics whose first level is `level`. */
  retainedByLevel(level: string): string {
    return `${this.prefix}retained:l:${level}`;
  }
  session(clientId: string): string {
    return `${this.prefix}session:${clientId}`;
  }
  sub(clientId: string): string {
    return `${this.prefix}sub:${clientId}`;
  }
  /** List of the offline queue's keys (message ids), oldest first. */
  queue(clientId: string): string {
    return `${this.prefix}queue:${clientId}`;
  }
  /** Hash queue key → queued entry (expiry, then the encoded message). */
  queued(clientId: string): string {
    return `${this.prefix}queued:${clientId}`;
  }
  /** Sorted set of the keys lately removed from the queue, scored by removal time (ms). */
  removed(clientId: string): string {
    return `${this.prefix}removed:${clientId}`;
  }
  out(clientId: string): string {
    return `${this.prefix}out:${clientId}`;
  }
  /** Sorted set messageId → first-sent sequence number: the order of getOutgoing. */
  outOrder(clientId: string): string {
    return `${this.prefix}outorder:${clientId}`;
  }
  incoming(clientId: string): string {
    return `${this.prefix}in:${clientId}`;
  }
  will(clientId: string): string {
    return `${this.prefix}will:${clientId}`;
  }
  /** Hash clientId → qos (with MQTT 5 options, packSubscription) of every durable subscription to `filter`. */
  filter(filter: string): string {
    return `${this.prefix}subs:f:${filter}`;
  }
  /** Sorted set clientId → when the offline session expires (ms, Redis' clock): what sweepExpired() reads. */
  get expiring(): string {
    return `${this.prefix}expiring`;
  }
  /** Hash prefix-of-filter → number of filters under it: the trie walked by subscriptionsByTopic. */
  get subscriptionNodes(): string {
    return `${this.prefix}subs:nodes`;
  }
  /** String holding a Store instance's id while it runs (PX): the owner of its connected sessions. */
  alive(instanceId: string): string {
    return `${this.prefix}alive:${instanceId}`;
  }
  /** String: the value of one record (Store.putRecord), expiring by PX when it has an expiry. */
  record(collection: string, key: string): string {
    return `${this.prefix}rec:${collection}:${key}`;
  }
  /** Sorted set (scores 0) of a collection's record keys: listed in byte order by ZRANGEBYLEX. */
  recordIndex(collection: string): string {
    return `${this.prefix}recs:${collection}`;
  }
  /** The Emitter's stream: every published message, from every instance (capped, MAXLEN ~). */
  get stream(): string {
    return `${this.prefix}stream`;
  }
}
