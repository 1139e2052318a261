/** Quality of service levels. */
export type QoS = 0 | 1 | 2;

/** MQTT protocol levels on the wire: 3 is MQTT 3.1, 4 is 3.1.1, 5 is 5.0. */
export type ProtocolLevel = 3 | 4 | 5;

/** A User Property of MQTT 5: a name and a value, kept in the order they came in. [MQTT-3.3.2-18] */
export type UserProperty = [name: string, value: string];

/**
 * The MQTT 5 properties a message carries from its publisher to its subscribers unchanged
 * (Topic Alias and Subscription Identifier belong to one hop and are not kept here).
 */
export interface MessageProperties {
  /** true: the payload is UTF-8 text. [MQTT-3.3.2-4] */
  payloadFormatIndicator?: boolean;
  /** Seconds the message lives, counted from when the broker received it. [MQTT-3.3.2-5] */
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperty[];
}

/** What an application message says: its topic, payload, QoS, retain flag and MQTT 5 properties. */
export interface MessageContent {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  /** MQTT 5 properties; absent for messages of 3.1/3.1.1 publishers that carry none. */
  properties?: MessageProperties;
  /**
   * When the message expires (milliseconds since the epoch): set from its Message Expiry Interval
   * when the broker received it. An expired message is delivered to no one. [MQTT-3.3.2-5]
   */
  expiresAt?: number;
  /**
   * MQTT 5: the Subscription Identifiers of the subscriptions of one client that the message
   * matched, set on that client's copy (queued, in flight) only. [MQTT-3.3.4-3]
   */
  subscriptionIdentifiers?: number[];
}

/**
 * An application message as it travels through the broker: from a publisher (or a will, or the
 * host application) through the Emitter to every matching subscriber.
 */
export interface Message extends MessageContent {
  /**
   * Names this publication: given once where the message enters a broker (see MessageIds) and kept
   * by every copy of it, in every Emitter and Store, so that two copies can be recognised as one
   * (the offline queue keeps one). Unique across brokers and restarts. Empty only for a message
   * stored by a version without ids: such a message is never taken for another.
   */
  id: string;
}

/**
 * A message as the Server's events and hooks show it where it entered this broker (`published`,
 * the result of `server.publish()`): `messageId` is Mosca's name for its id.
 */
export interface PublishedMessage extends Message {
  readonly messageId: string;
}

/** A message addressed to one client, with the packet id that client knows it by. */
export interface OutgoingPacket extends Message {
  messageId: number;
  /** True once the client has sent PUBREC: only PUBREL is re-sent for it. */
  released?: boolean;
}

/** A message in a client's offline queue, with the id the Store knows it by. */
export interface QueuedMessage {
  id: string;
  message: Message;
}

/** A subscription filter with its granted QoS and, from MQTT 5 clients, its options. */
export interface Subscription {
  topic: string;
  qos: QoS;
  /** No Local: messages the client publishes itself do not come back to it. [MQTT-3.8.3-3] */
  nl?: boolean;
  /** Retain As Published: forwarded messages keep their RETAIN flag. [MQTT-3.3.1-12] [MQTT-3.3.1-13] */
  rap?: boolean;
  /** Retain Handling: 0 sends retained messages on subscribe, 1 only for a new subscription, 2 never. */
  rh?: 0 | 1 | 2;
  /** The Subscription Identifier the SUBSCRIBE carried, sent back with each message it matches. */
  subscriptionIdentifier?: number;
}

/** A durable subscription together with the client that holds it. */
export interface ClientSubscription extends Subscription {
  clientId: string;
  /** Whether the session is connected to a broker instance right now. */
  connected: boolean;
  /**
   * Stores that know it (Redis): the Emitter's position (Emitter.publish) when the session was
   * last marked connected. A message published at or before it may have missed that connection.
   */
  connectedSince?: number;
}

/** The will message a client registered with CONNECT; it gets an id each time it is published. */
export interface Will extends MessageContent {
  /**
   * MQTT 5: how long (ms) the will waits once its connection is lost, the Will Delay Interval
   * bounded by the Session Expiry Interval. Stored with the will, so that an instance taking over
   * for a broker that died honours it. Absent or 0: published at once.
   */
  delayMs?: number;
  /** Set once the connection ended: when (ms since the epoch) the delayed will is due. */
  delayUntil?: number;
}

/** A record of a Store collection (see Store.putRecord). */
export interface StoredRecord {
  key: string;
  value: Buffer;
}

/** Which records Store.listRecords returns: keys starting with `prefix`, after `after`, at most `limit` (default 1000). */
export interface RecordPage {
  prefix?: string;
  after?: string;
  limit?: number;
}
