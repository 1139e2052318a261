import { randomBytes } from 'node:crypto';
import { expiryOf } from './connection/properties.js';
import type { MessageProperties, PublishedMessage, QoS } from './types.js';

/**
 * Makes the ids of the messages that enter one broker: `<broker id>-<random per start>-<counter>`.
 * The random part keeps a restarted broker with a fixed `id` from reusing ids that a durable Store
 * still holds; the counter keeps the cost on the hot path to one increment and one concatenation.
 */
export class MessageIds {
  private readonly prefix: string;
  private count = 0;

  constructor(brokerId: string) {
    this.prefix = `${brokerId}-${randomBytes(4).toString('hex')}-`;
  }

  next(): string {
    return this.prefix + (this.count++).toString(36);
  }

  /**
   * A message entering the broker, with its new id under both its names; its Message Expiry
   * Interval, if any, counts from now.
   */
  message(topic: string, payload: Buffer, qos: QoS, retain: boolean, properties?: MessageProperties): PublishedMessage {
    const id = this.next();
    const message: PublishedMessage = { id, messageId: id, topic, payload, qos, retain };
    if (properties) {
      message.properties = properties;
      const expiresAt = expiryOf(properties);
      if (expiresAt !== undefined) message.expiresAt = expiresAt;
    }
    return message;
  }
}
