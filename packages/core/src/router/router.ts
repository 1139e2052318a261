import type { Client } from '../connection/client.js';
import { TopicIndex } from '../topics/topic-index.js';
import type { Message, QoS } from '../types.js';

interface Entry {
  client: Client;
  qos: QoS;
}

/** Called when the first filter under a `$` top level (other than `$SYS`) appears, or the last goes. */
export type DollarLevelListener = (level: string, present: boolean) => void;

/**
 * The subscriptions of the clients connected to this broker instance, and delivery of a message
 * to each client whose filters match it.
 */
export class Router {
  private readonly index = new TopicIndex<Entry>();
  /** Reused per delivery: one client holding several matching filters gets the message once. */
  private readonly matched = new Map<string, Entry>();
  /**
   * Filters held per `$` top level. The broker takes everything from the Emitter through `#` and
   * `$SYS/#`, which no other `$` topic matches [MQTT-4.7.2-1]; such levels are taken on demand.
   */
  private readonly dollarLevels = new Map<string, number>();
  /** The match visitor, made once: keeps the highest QoS per client in `matched`. */
  private readonly collect = (clientId: string, entry: Entry): void => {
    const seen = this.matched.get(clientId);
    if (!seen || seen.qos < entry.qos) this.matched.set(clientId, entry);
  };

  constructor(private readonly onDollarLevel: DollarLevelListener = () => undefined) {}

  subscribe(client: Client, filter: string, qos: QoS): void {
    const isNew = this.index.get(filter, client.id) === undefined;
    this.index.add(filter, client.id, { client, qos });
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
    if (level === '$SYS') return;
    const count = (this.dollarLevels.get(level) ?? 0) + change;
    if (count > 0) this.dollarLevels.set(level, count);
    else this.dollarLevels.delete(level);
    if (count === 1 && change === 1) this.onDollarLevel(level, true);
    if (count === 0) this.onDollarLevel(level, false);
  }

  /**
   * Delivers to every local subscriber, once per client at its highest granted QoS [MQTT-3.3.5-1];
   * only to those `audience` admits when given (`$SYS` read access).
   */
  deliver(message: Message, audience?: (client: Client) => boolean): void {
    const matched = this.matched;
    this.index.match(message.topic, this.collect);
    if (matched.size === 0) return;
    if (matched.size === 1) {
      const [{ client, qos }] = matched.values();
      matched.clear();
      if (!audience || audience(client)) client.deliver(message, qos);
      return;
    }
    // Copied before delivering: a delivery may re-enter the router (a hook publishing).
    const targets = [...matched.values()];
    matched.clear();
    for (const { client, qos } of targets) if (!audience || audience(client)) client.deliver(message, qos);
  }
}
