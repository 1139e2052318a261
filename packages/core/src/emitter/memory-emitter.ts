import type { Message } from '../types.js';
import { TopicIndex } from '../topics/topic-index.js';
import type { Emitter, MessageHandler } from './emitter.js';

/**
 * The in-process Emitter: the embedded default. Delivery is synchronous, so a broker on it pays
 * no serialisation or scheduling cost per message.
 */
export class MemoryEmitter implements Emitter {
  private readonly handlers = new TopicIndex<MessageHandler[]>();
  private closed = false;

  publish(message: Message): Promise<void> {
    this.deliver(message);
    return Promise.resolve();
  }

  /** The synchronous form of publish, for callers on the hot path. */
  deliver(message: Message): void {
    if (this.closed) return;
    this.handlers.match(message.topic, (_key, handlers) => {
      for (const handler of handlers) handler(message);
    });
  }

  subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (!this.closed) {
      const handlers = this.handlers.get(filter, '') ?? [];
      this.handlers.add(filter, '', [...handlers, handler]);
    }
    return Promise.resolve();
  }

  /** Whether a handler is subscribed with exactly `filter` (besides `except`): who would hear a message on it. */
  hasSubscribers(filter: string, except?: MessageHandler): boolean {
    const handlers = this.handlers.get(filter, '');
    return handlers !== undefined && handlers.some((handler) => handler !== except);
  }

  unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    const remaining = (this.handlers.get(filter, '') ?? []).filter((h) => h !== handler);
    if (remaining.length > 0) this.handlers.add(filter, '', remaining);
    else this.handlers.remove(filter, '');
    return Promise.resolve();
  }

  /** Delivery is synchronous: whatever was published has been delivered. */
  sync(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    for (const [filter] of [...this.handlers.entries()]) this.handlers.remove(filter, '');
    return Promise.resolve();
  }
}
