import type { Message } from '../types.js';

/**
 * Receives messages published on any broker instance that match a subscribed filter. It may return
 * a promise of the Store writes the delivery started (durable sessions): an Emitter that can redo
 * a dead instance's deliveries (Redis) waits for it before it counts the message as done.
 */
export type MessageHandler = (message: Message) => unknown;

/**
 * The pub/sub fabric between broker instances. A message published on one instance reaches the
 * handlers subscribed with a matching filter on every instance connected to the same backend,
 * the publishing one included. Payloads are carried byte-exact, with QoS and retain flags.
 *
 * Adapters are checked by `@skynet-mqtt/contract-tests` (`emitterContract`).
 */
export interface Emitter {
  /**
   * Resolves once the backend has the message; Emitters that number their messages (Redis) resolve
   * with its position, which `ClientSubscription.connectedSince` is compared with (the Store is
   * given it: Store.subscriptionsByTopic). `publisher`, the id of the client that sent the message
   * when one did: an Emitter with several channels (Redis with `shards`) keeps each publisher's
   * messages on one, in order.
   */
  publish(message: Message, publisher?: string): Promise<number | void>;
  /**
   * Optional: publish() of a QoS 2 message a durable session sent under `packetId`, recorded as
   * that session's incoming packet id in the same atomic step (the Store must keep its incoming
   * ids where the Emitter writes them: Store.sharesIncomingWith). A PUBLISH re-sent after its
   * instance died is then neither lost nor sent twice. `earlier` is null when published now (this
   * instance's handlers get it once the backend has it, and the call waits for the Store writes
   * they return; `position` as publish() gives it), else the id of the message published earlier
   * under this packet id (nothing is done then; '' when unknown).
   */
  publishOnce?(message: Message, clientId: string, packetId: number): Promise<{ earlier: string | null; position?: number }>;
  subscribe(filter: string, handler: MessageHandler): Promise<void>;
  unsubscribe(filter: string, handler: MessageHandler): Promise<void>;
  /**
   * Resolves once every message published on any instance before the call has been delivered to
   * this instance's handlers. The broker waits for it before a closing durable session stops
   * receiving, so that nothing already in transit to it is missed.
   */
  sync(): Promise<void>;
  /**
   * Resolves once the Emitter's server answered a round trip; rejects at once when it is known to
   * be unreachable. Absent on in-process Emitters (they are always reachable).
   */
  ping?(): Promise<void>;
  /** Stops delivery and releases connections; nothing is delivered after it resolves. */
  close(): Promise<void>;
}
