import type { Broker } from '../broker.js';
import type { Message } from '../types.js';

/**
 * Stores a retained message [MQTT-3.3.1-5] within the broker's limits: a payload larger than
 * `maxRetainedPayloadSize`, or a new retained topic once `maxRetainedMessages` are kept, is not
 * kept (the message is still delivered to the subscribers of now), logged and counted. An empty
 * payload always deletes. [MQTT-3.3.1-10]
 */
export async function keepRetained(broker: Broker, message: Message): Promise<void> {
  const { maxRetainedPayloadSize, maxRetainedMessages } = broker.settings;
  if (message.payload.length > maxRetainedPayloadSize) {
    broker.stats.retainedRefusedBy.size++;
    broker.rateLimitedLog.warn(
      'retained size',
      { topic: message.topic, bytes: message.payload.length, maxRetainedPayloadSize },
      'retained message not kept: its payload is larger than maxRetainedPayloadSize (it was delivered, not retained)',
    );
    return;
  }
  if (await broker.store.storeRetained(message, maxRetainedMessages)) return;
  broker.stats.retainedRefusedBy.count++;
  broker.rateLimitedLog.warn(
    'retained count',
    { topic: message.topic, maxRetainedMessages },
    'retained message not kept: maxRetainedMessages are retained already (it was delivered, not retained)',
  );
}
