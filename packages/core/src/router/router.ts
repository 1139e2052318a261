import type { Client } from '../connection/client.js';
import { TopicIndex } from '../topics/topic-index.js';
import type { Message, QoS } from '../types.js';

interface Entry {
  client: Client;
  qos: QoS;
}

/**
 * The subscriptions of the clients connected to this broker instance, and delivery of a message
 * to each client whose filters match it.
 */
export class Router {
  private readonly index = new TopicIndex<Entry>();
  /** Reused per delivery: one client holding several matching filters gets the message once. */
  private readonly matched = new Map<string, Entry>();

  get size(): number {
    return this.index.size;
  }

  subscribe(client: Client, filter: string, qos: QoS): void {
    this.index.add(filter, client.id, { client, qos });
  }

  unsubscribe(client: Client, filter: string): void {
    const entry = this.index.get(filter, client.id);
    // A newer connection with the same id may hold the filter by now: leave it alone.
    if (entry?.client === client) this.index.remove(filter, client.id);
  }

  /** Delivers to every local subscriber, once per client at its highest granted QoS. [MQTT-3.3.5-1] */
  deliver(message: Message): void {
    const matched = this.matched;
    this.index.match(message.topic, (clientId, entry) => {
      const seen = matched.get(clientId);
      if (!seen || seen.qos < entry.qos) matched.set(clientId, entry);
    });
    if (matched.size === 0) return;
    // Copied before delivering: a delivery may re-enter the router (a hook publishing).
    const targets = [...matched.values()];
    matched.clear();
    for (const { client, qos } of targets) client.deliver(message, qos);
  }
}
