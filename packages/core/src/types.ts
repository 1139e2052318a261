/** Quality of service levels of MQTT 3.1.1. */
export type QoS = 0 | 1 | 2;

/**
 * An application message as it travels through the broker: from a publisher (or a will, or the
 * host application) through the Emitter to every matching subscriber.
 */
export interface Message {
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
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

/** A subscription filter with its granted QoS. */
export interface Subscription {
  topic: string;
  qos: QoS;
}

/** A durable subscription together with the client that holds it. */
export interface ClientSubscription extends Subscription {
  clientId: string;
  /** Whether the session is connected to a broker instance right now. */
  connected: boolean;
}

/** The will message a client registered with CONNECT. */
export type Will = Message;

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
