import { topicMatches } from '../topics/validate.js';
import type { Message, QoS, Subscription } from '../types.js';
import type { Client } from './client.js';

/** Retained messages read from the Store at a time: what a replay holds in memory at most. */
const REPLAY_PAGE = 128;
/**
 * Unsent bytes under which a replay writes more. At or above the socket's high-water mark, so that
 * the write that stops it asked for 'drain' (which resumes it), and under CONGESTION_BYTES, so
 * that a replay alone never counts as congestion (it would pause the client's reading).
 */
const REPLAY_BYTES = 64 * 1024;

/**
 * The retained messages a SUBSCRIBE asks for [MQTT-3.3.1-6], read from the Store a page at a time
 * and sent as the socket drains and the in-flight window frees: never copied into the client's
 * queue, where `maxQueuedMessages` would drop what exceeds it, nor held whole in memory. Live
 * messages go out meanwhile; a replay cut short by the connection's end is not resumed.
 */
export class RetainedReplay {
  private readonly pages: AsyncGenerator<Message[], void, undefined>;
  private page: Message[] = [];
  private at = 0;
  private reading = false;
  private finished = false;

  constructor(
    private readonly client: Client,
    private readonly subscriptions: readonly Subscription[],
    filters: readonly string[],
  ) {
    this.pages = client.server.store.retainedPages(filters, REPLAY_PAGE);
  }

  /** Sends what the socket and the window take now; true once every message went. */
  pump(): boolean {
    const client = this.client;
    const stream = client.stream;
    const limit = Math.max(REPLAY_BYTES, stream.writableHighWaterMark);
    while (client.connected) {
      if (this.at === this.page.length) {
        if (this.finished) return true;
        this.read();
        return false;
      }
      if (stream.writableLength >= limit) return false;
      const message = this.page[this.at]!;
      const [qos, identifiers] = this.deliveryOf(message);
      if (qos > 0 && !client.outbound.hasRoom(message)) return false;
      if (identifiers) message.subscriptionIdentifiers = identifiers;
      this.at++;
      // [MQTT-3.3.1-8] retain set, whatever Retain As Published says.
      client.outbound.sendRetained(message, qos);
    }
    return false;
  }

  /** Ends the walk: the connection is gone. */
  stop(): void {
    this.finished = true;
    this.page = [];
    this.at = 0;
    this.pages.return(undefined).catch(() => undefined);
  }

  /** One delivery per message, at the highest QoS among the filters it matches (with their identifiers). */
  private deliveryOf(message: Message): [QoS, number[] | undefined] {
    let granted = 0;
    let identifiers: number[] | undefined;
    const subscriptions = this.subscriptions;
    // The Store found the message by these filters: one of them matches, and the only one needs no test.
    const test = subscriptions.length > 1;
    for (const s of subscriptions) {
      if (test && !topicMatches(s.topic, message.topic)) continue;
      if (s.qos > granted) granted = s.qos;
      if (s.subscriptionIdentifier !== undefined) (identifiers ??= []).push(s.subscriptionIdentifier);
    }
    // [MQTT-3.8.4-6] at most the QoS it was published with.
    return [(message.qos < granted ? message.qos : granted) as QoS, identifiers];
  }

  /** Reads the next page, then goes on sending. */
  private read(): void {
    if (this.reading) return;
    this.reading = true;
    this.next().then(
      (page) => {
        this.reading = false;
        if (this.finished) return;
        if (page === null) this.finished = true;
        this.page = page ?? [];
        this.at = 0;
        this.client.outbound.pump();
      },
      (error: unknown) => {
        this.reading = false;
        this.client.logger.error({ err: error }, 'reading retained messages failed: the rest of the replay is not sent');
        this.stop();
        this.client.outbound.pump();
      },
    );
  }

  /** The next page of messages this client may read (null at the end); a page left empty is passed. */
  private async next(): Promise<Message[] | null> {
    const client = this.client;
    for (;;) {
      const step = await this.pages.next();
      if (step.done) return null;
      const page: Message[] = [];
      for (const message of step.value) {
        if (!client.server.sysAccess.mayRead(client, message.topic)) continue;
        // A new id (the page's messages are the walk's own copies): sent again on a later
        // SUBSCRIBE, it must not pass for a late copy of this one (Store.enqueue).
        message.id = client.server.messageIds.next();
        if (client.server.authorizeForward && !(await client.mayForward(message))) continue;
        page.push(message);
      }
      if (page.length > 0) return page;
    }
  }
}
