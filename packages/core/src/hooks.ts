import type { Client } from './connection/client.js';
import type { Message, PublishedMessage, QoS, UserProperty } from './types.js';

/** A filter as a SUBSCRIBE asked for it, for authorizeSubscribe. */
export interface SubscriptionRequest {
  topic: string;
  qos: QoS;
  /** MQTT 5 subscription options: No Local, Retain As Published, Retain Handling. */
  nl?: boolean;
  rap?: boolean;
  rh?: number;
  /** MQTT 5: the SUBSCRIBE's Subscription Identifier and User Properties. */
  subscriptionIdentifier?: number;
  userProperties?: UserProperty[];
}

type Callback<T> = (error: Error | null | undefined, result?: T) => void;

/** One answer of an enhanced authentication method (see AuthenticationMethod). */
export type AuthenticationStep =
  /** Accepted: CONNACK 0 (or AUTH 0 after re-authentication), with `data` as Authentication Data. */
  | { result: 'success'; data?: Buffer }
  /** More is needed: AUTH 0x18 with `data` goes to the client, whose next AUTH comes back here. */
  | { result: 'continue'; data?: Buffer }
  /** Refused with `reasonCode` (0x87 "Not authorized" when unset). */
  | { result: 'fail'; reasonCode?: number };

/**
 * An MQTT 5 enhanced authentication method (section 4.12), registered under the name clients put
 * in CONNECT's Authentication Method: `server.authenticationMethods['SCRAM-SHA-256'] = ...`. It is
 * called with the client's Authentication Data, first from CONNECT, then from each AUTH, until it
 * answers success or fail; `reauthenticate` is true for an exchange a connected client started.
 */
export type AuthenticationMethod = (
  client: Client,
  data: Buffer | undefined,
  context: { reauthenticate: boolean },
) => AuthenticationStep | Promise<AuthenticationStep>;

/** Mosca's hooks. Each may call its callback, return a promise, or return the verdict directly. */
export interface Hooks {
  authenticate?: (client: Client, username: string | undefined, password: Buffer | undefined, callback: Callback<boolean>) => unknown;
  /**
   * true publishes, a Buffer publishes that payload instead, 'ignore' acks without publishing.
   * The whole message (with its MQTT 5 properties) follows the callback. A refusal closes a 3.1.1
   * connection (Mosca's rule); a 5.0 publisher gets PUBACK/PUBREC 0x87, or the `reasonCode` of
   * the error the hook failed with.
   */
  authorizePublish?: (client: Client, topic: string, payload: Buffer, callback: Callback<boolean | Buffer | 'ignore'>, message: Message) => unknown;
  /**
   * A refusal is SUBACK 0x80 for 3.1.1, 0x87 for 5.0 (or the `reasonCode` of the hook's error).
   * The requested subscription (QoS, MQTT 5 options and properties) follows the callback.
   */
  authorizeSubscribe?: (client: Client, topic: string, callback: Callback<boolean>, subscription: SubscriptionRequest) => unknown;
  authorizeForward?: (client: Client, packet: Message, callback: Callback<boolean>) => unknown;
  /** Runs after a message went to the Emitter; the publisher's ack waits for it. */
  published?: (packet: PublishedMessage, client: Client | null, callback: Callback<void>) => unknown;
}

/** Where hooks run (the Server): exceptions they throw are reported there. */
export interface HookHost extends Hooks {
  /**
   * An exception from application code (a hook, an event listener, a callback): logged at `error`
   * with its stack, and emitted as the server's `error` event when something listens to it.
   */
  reportApplicationError(error: unknown, source: string): void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** An error that carries an MQTT 5 `reasonCode` is how a hook refuses on purpose, not a bug. */
function isRefusal(error: Error): boolean {
  return typeof (error as { reasonCode?: unknown }).reasonCode === 'number';
}

/**
 * Calls the hook `name` of `host` in whichever of the three styles it uses and settles once: it
 * rejects with the error the hook called back with, threw or rejected with. A throw is also an
 * application bug, reported (unless the error carries a `reasonCode`); the caller then treats it
 * as a refusal. `extra` arguments come after the callback: what MQTT 5 adds (properties,
 * subscription options) reaches hooks that want it without moving the callback of Mosca's
 * signatures.
 */
export function callHook<T>(host: HookHost, name: keyof Hooks, args: unknown[], extra: unknown[] = []): Promise<T> {
  const hook = host[name] as ((...a: unknown[]) => unknown) | undefined;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const callback: Callback<T> = (error, result) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(result as T);
    };
    const threw = (error: unknown): void => {
      const err = asError(error);
      if (!settled && !isRefusal(err)) host.reportApplicationError(err, `the ${name} hook`);
      callback(err);
    };
    try {
      const returned = hook!.apply(host, [...args, callback, ...extra]);
      if (isThenable(returned)) returned.then((value) => callback(null, value as T), threw);
      else if (returned !== undefined) callback(null, returned as T);
    } catch (error) {
      threw(error);
    }
  });
}
