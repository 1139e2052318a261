import type { QoS, Subscription } from '../types.js';

/**
 * A subscription's QoS and MQTT 5 options as one number: SUBSCRIBE's options byte (QoS, No Local,
 * Retain As Published, Retain Handling), its Subscription Identifier above it (times 256). Stores
 * that keep one value per filter keep this; a 3.1.1 subscription is its QoS, as before.
 */
export function packSubscription(subscription: Subscription): number {
  const { qos, nl, rap, rh, subscriptionIdentifier } = subscription;
  return qos + (nl ? 4 : 0) + (rap ? 8 : 0) + (rh ?? 0) * 16 + (subscriptionIdentifier ?? 0) * 256;
}

/** The subscription of `topic` that `packed` stands for; options left out when not set. */
export function unpackSubscription(topic: string, packed: number): Subscription {
  const options = packed % 256;
  const subscription: Subscription = { topic, qos: (options & 3) as QoS };
  if (options & 4) subscription.nl = true;
  if (options & 8) subscription.rap = true;
  const rh = (options >> 4) & 3;
  if (rh) subscription.rh = rh as 1 | 2;
  const subscriptionIdentifier = Math.floor(packed / 256);
  if (subscriptionIdentifier) subscription.subscriptionIdentifier = subscriptionIdentifier;
  return subscription;
}
