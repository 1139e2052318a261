import { TopicIndex } from '../topics/topic-index.js';
import type { ClientSubscription, Subscription } from '../types.js';

/** What a Store keeps in memory of one durable session. */
export interface SessionRecord {
  connected: boolean;
  /** When the session is forgotten if it stays offline (ttl.subscriptions). */
  expiresAt: number;
  /** Milliseconds the session lives once offline, when it said (MQTT 5); else ttl.subscriptions. */
  expiryInterval?: number;
  /** Subscriptions by filter, with their MQTT 5 options. */
  subscriptions: Map<string, Subscription>;
}

/**
 * Durable sessions and their subscriptions, indexed by topic filter, for Stores that keep them in
 * memory (the memory Store, and LevelDB's index of what is on disk). `S` may carry more per session.
 */
export class SessionIndex<S extends SessionRecord> {
  private readonly sessions = new Map<string, S>();
  private readonly byFilter = new TopicIndex<Subscription>();

  get(clientId: string): S | undefined {
    return this.sessions.get(clientId);
  }

  /** Whether an offline session's time ran out; callers then delete it. */
  expired(session: S, now = Date.now()): boolean {
    return !session.connected && session.expiresAt <= now;
  }

  set(clientId: string, session: S): void {
    this.sessions.set(clientId, session);
  }

  /** Removes the session and its subscriptions. */
  delete(clientId: string): void {
    const session = this.sessions.get(clientId);
    if (!session) return;
    for (const filter of session.subscriptions.keys()) this.byFilter.remove(filter, clientId);
    this.sessions.delete(clientId);
  }

  /** Adds or replaces subscriptions of a session held here. */
  subscribe(clientId: string, session: S, subscriptions: readonly Subscription[]): void {
    for (const subscription of subscriptions) {
      const kept = { ...subscription };
      session.subscriptions.set(subscription.topic, kept);
      this.byFilter.add(subscription.topic, clientId, kept);
    }
  }

  unsubscribe(clientId: string, session: S, topics: readonly string[]): void {
    for (const topic of topics) {
      session.subscriptions.delete(topic);
      this.byFilter.remove(topic, clientId);
    }
  }

  /** Every subscription matching `topic` of a session that is connected or not yet expired. */
  match(topic: string, now = Date.now()): ClientSubscription[] {
    const found: ClientSubscription[] = [];
    this.byFilter.match(topic, (clientId, subscription) => {
      const session = this.sessions.get(clientId);
      if (!session || this.expired(session, now)) return;
      found.push({ ...subscription, clientId, connected: session.connected });
    });
    return found;
  }

  /** How many sessions are not connected and not expired. */
  countOffline(now = Date.now()): number {
    let count = 0;
    for (const session of this.sessions.values()) if (!session.connected && session.expiresAt > now) count++;
    return count;
  }

  /** Every session, for loading and sweeping. */
  entries(): IterableIterator<[string, S]> {
    return this.sessions.entries();
  }

  clear(): void {
    for (const clientId of [...this.sessions.keys()]) this.delete(clientId);
  }
}
