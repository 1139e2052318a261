import type { Client } from '../connection/client.js';
import { TopicIndex } from '../topics/topic-index.js';
import type { Message, QoS, Subscription } from '../types.js';

/**
 * One client's subscription, as delivery needs it. A 3.1.1 subscription (or a 5.0 one without
 * options) has `nl` and `rap` false and no `ids`: delivery then takes the path it always took.
 */
interface Entry {
  client: Client;
  qos: QoS;
  /** No Local. [MQTT-3.8.3-3] */
  nl: boolean;
  /** Retain As Published. [MQTT-3.3.1-12] */
  rap: boolean;
  /** Subscription Identifiers; null when none. */
  ids: number[] | null;
}

/**
 * One delivery for a client holding several matching subscriptions [MQTT-3.3.4-4]: the highest
 * QoS, the RETAIN flag kept if any asks for it, every Subscription Identifier.
 */
function merge(a: Entry, b: Entry): Entry {
  if (a.ids === null && b.ids === null && !a.rap && !b.rap) return a.qos < b.qos ? b : a;
  const ids = a.ids === null ? b.ids : b.ids === null ? a.ids : [...a.ids, ...b.ids];
  return { client: a.client, qos: a.qos < b.qos ? b.qos : a.qos, nl: false, rap: a.rap || b.rap, ids };
}

/** Called when the first filter under a `$` top level (other than `$SYS`) appears, or the last goes. */
export type DollarLevelListener = (level: string, present: boolean) => void;

/**
 * The subscriptions of the clients connected to this broker instance, and delivery of a message
 * to each client whose filters match it.
 */
export class Router {
  private readonly index = new TopicIndex<Entry>();
  /**
   * The first client a delivery matched, and its entry: most messages go to one client, which
   * then costs no map. From a second client on, every match is merged in `matched`, reused per
   * delivery: one client holding several matching filters gets the message once.
   */
  private firstId: string | null = null;
  private first: Entry | null = null;
  private readonly matched = new Map<string, Entry>();
  /**
   * Filters held per `$` top level. The broker takes everything from the Emitter through `#` and
   * `$SYS/#`, which no other `$` topic matches [MQTT-4.7.2-1]; such levels are taken on demand.
   */
  private readonly dollarLevels = new Map<string, number>();
  /** Filters under `$SYS`: the only ones a `$SYS` topic can match. */
  private sysFilters = 0;
  /** The client whose message is being delivered, for No Local. */
  private publisher: Client | null = null;
  /** The match visitor, made once: merges what each client's matching subscriptions ask for. */
  private readonly collect = (clientId: string, entry: Entry): void => {
    // [MQTT-3.8.3-3] No Local: not back to the connection that published it.
    if (entry.nl && entry.client === this.publisher) return;
    if (this.first === null) {
      this.firstId = clientId;
      this.first = entry;
      return;
    }
    if (this.matched.size === 0) {
      if (clientId === this.firstId) {
        this.first = merge(this.first, entry);
        return;
      }
      this.matched.set(this.firstId!, this.first);
    }
    const seen = this.matched.get(clientId);
    this.matched.set(clientId, seen === undefined ? entry : merge(seen, entry));
  };

  constructor(private readonly onDollarLevel: DollarLevelListener = () => undefined) {}

  /** Whether a client here holds a filter under `$SYS`. */
  get hasSysSubscribers(): boolean {
    return this.sysFilters > 0;
  }

  subscribe(client: Client, subscription: Subscription): void {
    const { topic: filter, qos, subscriptionIdentifier } = subscription;
    const ids = subscriptionIdentifier === undefined ? null : [subscriptionIdentifier];
    const isNew = this.index.add(filter, client.id, { client, qos, nl: subscription.nl === true, rap: subscription.rap === true, ids });
    if (isNew) this.countDollarLevel(filter, 1);
  }

  unsubscribe(client: Client, filter: string): void {
    const entry = this.index.get(filter, client.id);
    // A newer connection with the same id may hold the filter by now: leave it alone.
    if (entry?.client !== client) return;
    this.index.remove(filter, client.id);
    this.countDollarLevel(filter, -1);
  }

  private countDollarLevel(filter: string, change: 1 | -1): void {
    if (filter.charCodeAt(0) !== 36 /* $ */) return;
    const level = filter.split('/', 1)[0]!;
    if (level === '$SYS') {
      this.sysFilters += change;
      return;
    }
    const count = (this.dollarLevels.get(level) ?? 0) + change;
    if (count > 0) this.dollarLevels.set(level, count);
    else this.dollarLevels.delete(level);
    if (count === 1 && change === 1) this.onDollarLevel(level, true);
    if (count === 0) this.onDollarLevel(level, false);
  }

  /**
   * Delivers to every local subscriber, once per client at its highest granted QoS [MQTT-3.3.5-1];
   * only to those `audience` admits when given (`$SYS` read access). `publisher` is the
   * connection the message comes from, when it is on this instance (No Local).
   */
  deliver(message: Message, audience?: (client: Client) => boolean, publisher: Client | null = null): void {
    const matched = this.matched;
    this.publisher = publisher;
    this.index.match(message.topic, this.collect);
    this.publisher = null;
    const first = this.first;
    this.first = this.firstId = null;
    if (first === null) return;
    if (matched.size === 0) {
      if (!audience || audience(first.client)) send(message, first);
      return;
    }
    // Copied before delivering: a delivery may re-enter the router (a hook publishing).
    const targets = [...matched.values()];
    matched.clear();
    for (const entry of targets) if (!audience || audience(entry.client)) send(message, entry);
  }
}

/** Hands the message to the client, with what its subscriptions add (MQTT 5). */
function send(message: Message, { client, qos, rap, ids }: Entry): void {
  if (ids === null && !rap) return client.deliver(message, qos);
  client.deliver(ids === null ? message : { ...message, subscriptionIdentifiers: ids }, qos, rap && message.retain); // [MQTT-3.3.4-3]
}
