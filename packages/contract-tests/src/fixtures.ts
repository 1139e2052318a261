import type { Message, MessageProperties, QoS } from '@skynet-mqtt/core';

let made = 0;

/** A message with an id of its own, as a broker would give it (unique within the test run). */
export function message(topic: string, payload: string | Buffer, qos: QoS = 0, retain = false): Message {
  return { id: `fixture-${process.pid}-${made++}`, topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos, retain };
}

/** Every byte value once, so an encoding that is not binary-safe (UTF-8, latin1...) shows. */
export function allBytes(): Buffer {
  const buffer = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) buffer[i] = i;
  return buffer;
}

/** A deterministic pseudo-random payload of `size` bytes (xorshift: no crypto cost, repeatable). */
export function bigPayload(size = 256 * 1024, seed = 0x2545f491): Buffer {
  const buffer = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buffer[i] = x & 0xff;
  }
  return buffer;
}

/** Sorted "topic|payload" strings, to compare message sets regardless of order. */
export function summary(messages: readonly Message[]): string[] {
  return messages.map((m) => `${m.topic}|${m.payload.toString('latin1')}|${m.qos}|${m.retain}`).sort();
}

export function topics(messages: readonly Message[]): string[] {
  return messages.map((m) => m.topic).sort();
}

/**
 * Every MQTT 5 property a message carries, User Properties with a repeated name between two
 * others (their order must survive) and binary Correlation Data.
 */
export function v5Properties(): MessageProperties {
  return {
    payloadFormatIndicator: true,
    messageExpiryInterval: 3600,
    contentType: 'application/json; charset=utf-8',
    responseTopic: 'reply/to/me',
    correlationData: allBytes().subarray(0, 40),
    userProperties: [
      ['a', '1'],
      ['b', 'two'],
      ['a', '3'],
      ['ünï', 'çødé'],
    ],
  };
}

/** When v5Message's messages expire: a fixed time far ahead (2100-01-01). */
export const V5_EXPIRES_AT = 4_102_444_800_000;

/** A message with every MQTT 5 property (v5Properties) and an expiry time. */
export function v5Message(topic: string, payload: string | Buffer, qos: QoS = 1, retain = false): Message {
  return { ...message(topic, payload, qos, retain), properties: v5Properties(), expiresAt: V5_EXPIRES_AT };
}
