import { Cluster } from 'ioredis';
import { TopicIndex, type Emitter, type Message, type MessageHandler } from '@skynet-mqtt/core';
import { decodeMessage, encodeMessage } from './codec.js';
import { closeClient, ConnectionMonitor, createClient, type Client, type ConnectionState } from './connection.js';
import { Keys } from './keys.js';
import { resolveOptions, type Logger, type RedisAdapterOptions } from './options.js';
import { PUBLISH, runScript } from './scripts.js';

/** Escapes the characters Redis glob patterns treat specially. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The Redis pattern that receives at least every message matching `filter`: '+' and '#' become
 * '*' (which also crosses '/'), and 'a/#' becomes 'a*' so that it also gets 'a'. The local
 * TopicIndex then matches exactly, $-topic rule included.
 */
export function filterToPattern(channelPrefix: string, filter: string): string {
  const levels = filter.split('/');
  let pattern = '';
  levels.forEach((level, i) => {
    if (level === '#') {
      pattern += '*';
      return;
    }
    if (i > 0) pattern += '/';
    pattern += level === '+' ? '*' : escapeGlob(level);
  });
  return escapeGlob(channelPrefix) + pattern;
}

interface PatternEntry {
  /** The filters that map to this pattern, each with its handlers. */
  handlers: TopicIndex<MessageHandler[]>;
  /** Resolves once Redis confirmed the PSUBSCRIBE. */
  subscribed: Promise<unknown>;
}

/**
 * The Emitter on Redis pub/sub: one connection publishes, a duplicate subscribes (a connection
 * in subscriber mode can run nothing else). Each message goes to the channel `<prefix>msg:<topic>`;
 * each distinct filter becomes one PSUBSCRIBE, so Redis only sends a broker what it may need.
 *
 * A message matching several patterns arrives once per pattern; each pattern delivers only to
 * the filters that produced it, so every (filter, handler) pair still gets it exactly once.
 * Delivery is at most once, as with any Redis pub/sub: a broker disconnected from Redis misses
 * what is published meanwhile (durable sessions get it from the Store's offline queue).
 */
export class RedisEmitter implements Emitter {
  private readonly pub: Client;
  private readonly sub: Client;
  private readonly keys: Keys;
  private readonly monitors: ConnectionMonitor[];
  private readonly patterns = new Map<string, PatternEntry>();
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly logger: Logger;

  constructor(options: RedisAdapterOptions | Record<string, unknown> = {}) {
    const resolved = resolveOptions(options, 'emitter');
    this.logger = resolved.logger;
    this.keys = new Keys(resolved.keyPrefix);
    this.pub = createClient(resolved.connection);
    this.sub = this.pub.duplicate();
    this.monitors = [
      new ConnectionMonitor(this.pub, `Redis emitter publisher (${resolved.prefix})`, resolved.logger),
      new ConnectionMonitor(this.sub, `Redis emitter subscriber (${resolved.prefix})`, resolved.logger),
    ];
    this.sub.on('pmessageBuffer', (pattern: Buffer, _channel: Buffer, data: Buffer) => this.receive(pattern.toString(), data));
  }

  /** The worse of the two connections' states. */
  get state(): ConnectionState {
    const order: ConnectionState[] = ['closed', 'down', 'connecting', 'ready'];
    return order.find((s) => this.monitors.some((m) => m.state === s)) ?? 'ready';
  }

  private receive(pattern: string, data: Buffer): void {
    if (this.closed) return;
    const entry = this.patterns.get(pattern);
    if (!entry) return;
    let message: Message;
    try {
      message = decodeMessage(data);
    } catch (error) {
      // Someone else publishing on our channels: skip it, the bus must go on.
      this.logger.error(`Redis emitter: dropped an undecodable message: ${(error as Error).message}`);
      return;
    }
    entry.handlers.match(message.topic, (_key, handlers) => {
      for (const handler of handlers) handler(message);
    });
  }

  async publish(message: Message): Promise<void> {
    const channel = this.keys.channel(message.topic);
    if (this.pub instanceof Cluster) await runScript(this.pub, PUBLISH, this.keys.channel(''), [channel, encodeMessage(message)]);
    else await this.pub.publish(channel, encodeMessage(message));
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (this.closed) return;
    const pattern = filterToPattern(this.keys.channel(''), filter);
    let entry = this.patterns.get(pattern);
    if (!entry) {
      entry = { handlers: new TopicIndex(), subscribed: this.sub.psubscribe(pattern) };
      this.patterns.set(pattern, entry);
    }
    entry.handlers.add(filter, '', [...(entry.handlers.get(filter, '') ?? []), handler]);
    // A concurrent subscribe to the same pattern also waits for Redis' confirmation.
    await entry.subscribed;
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    const pattern = filterToPattern(this.keys.channel(''), filter);
    const entry = this.patterns.get(pattern);
    if (!entry) return;
    const handlers = entry.handlers.get(filter, '') ?? [];
    if (!handlers.includes(handler)) return;
    const remaining = handlers.filter((h) => h !== handler);
    if (remaining.length > 0) entry.handlers.add(filter, '', remaining);
    else entry.handlers.remove(filter, '');
    if (entry.handlers.size === 0 && !this.closed) {
      this.patterns.delete(pattern);
      await this.sub.punsubscribe(pattern);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    this.patterns.clear();
    this.closing ??= Promise.all([closeClient(this.sub), closeClient(this.pub)]).then(() => {
      for (const monitor of this.monitors) monitor.closed();
    });
    return this.closing;
  }
}
