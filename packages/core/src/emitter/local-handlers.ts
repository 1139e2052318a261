import type { Message } from '../types.js';
import { TopicIndex } from '../topics/topic-index.js';
import type { MessageHandler } from './emitter.js';

/**
 * The handlers an Emitter adapter holds for this instance, by filter, matched with MQTT rules.
 * Adapters that receive more than a handler asked for (a backend's own matching is coarser, or
 * every instance reads everything) deliver through it, so the contract's matching holds exactly.
 */
const noop = (): void => {};

export class LocalHandlers {
  private readonly index = new TopicIndex<MessageHandler[]>();

  /** Adds `handler` to `filter`; true when the filter had no handler before (a backend binding is due). */
  add(filter: string, handler: MessageHandler): boolean {
    const handlers = this.index.get(filter, '');
    this.index.add(filter, '', [...(handlers ?? []), handler]);
    return handlers === undefined;
  }

  /** Removes `handler` from `filter`; true when that was the filter's last handler (its binding may go). */
  remove(filter: string, handler: MessageHandler): boolean {
    const handlers = this.index.get(filter, '');
    if (!handlers?.includes(handler)) return false;
    const remaining = handlers.filter((h) => h !== handler);
    if (remaining.length > 0) {
      this.index.add(filter, '', remaining);
      return false;
    }
    this.index.remove(filter, '');
    return true;
  }

  /** Every filter that has a handler. */
  filters(): string[] {
    return [...this.index.entries()].map(([filter]) => filter);
  }

  /** Number of filters with handlers. */
  get size(): number {
    return this.index.size;
  }

  /**
   * Calls every handler whose filter matches; one that throws is reported to `onError` and does
   * not stop the others. The promises handlers return (their Store writes) are collected, settled
   * either way, in `writes` when given.
   */
  deliver(message: Message, onError: (error: unknown, message: Message) => void, writes?: Promise<void>[]): void {
    this.index.match(message.topic, (_key, handlers) => {
      for (const handler of handlers) {
        try {
          const written = handler(message);
          if (writes && written instanceof Promise) writes.push(written.then(noop, noop));
        } catch (error) {
          onError(error, message);
        }
      }
    });
  }

  clear(): void {
    for (const filter of this.filters()) this.index.remove(filter, '');
  }
}
